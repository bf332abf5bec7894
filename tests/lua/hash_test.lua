-- hash_test.lua: vouch.hash, XXH3-64 of a string as 16 lowercase hex
-- digits (the record's scorecard hash). Run sandboxed, as every script is.
local T = require "testlib"

T.test("XXH3-64 of the reference inputs", function()
  T.eq(vouch.hash(""), "2d06800538d394c2", "of nothing")
  T.eq(vouch.hash("abc"), "78af5f94892f3950", "of abc")
end)

T.test("every byte counts, NULs too, and the digits are always 16", function()
  T.eq(vouch.hash("a\0b") ~= vouch.hash("a"), true, "past a NUL")
  T.eq(vouch.hash("abd") ~= vouch.hash("abc"), true, "the last byte")
  for _, s in ipairs { "", "x", string.rep("long ", 1000), "\0\255" } do
    T.eq(#vouch.hash(s), 16, "length")
    T.eq(vouch.hash(s):match("^%x+$") ~= nil and vouch.hash(s):lower(), vouch.hash(s), "lowercase hex")
  end
  T.eq(vouch.hash(12), vouch.hash("12"), "a number as its text, as string functions take it")
end)

T.test("misuse raises", function()
  T.checkerror("bad argument #1", vouch.hash)
  T.checkerror("string expected, got table", vouch.hash, {})
end)
