-- scorecard_fixture.lua: loaded by scorecard_test.lua through vouch.script.
LEAKED = true
return { leak = "set" }
