-- file_test.lua: vouch.file, writing only where the sandbox allows.
-- run.sh runs this with the working directory writable (--allow-write).
local T = require "testlib"
local file = vouch.file

T.test("write and rewrite a file in an allowed folder", function()
  T.eq(file.write("out.txt", "first"), true, "write")
  T.eq(file.write("out.txt", "second\n"), true, "rewrite")
  T.eq(file.write("empty.txt", ""), true, "empty")
end)

T.test("mkdir, twice, then a file inside", function()
  T.eq(file.mkdir("charts"), true, "mkdir")
  T.eq(file.mkdir("charts"), true, "mkdir again")
  T.eq(file.write("charts/a.svg", "<svg/>"), true, "file inside")
  local ok, msg, code = file.mkdir("charts/a.svg")
  T.eq(ok, nil, "a file is not a folder")
  T.eq(code, "ENOTDIR", "code")
  T.eq(msg:find("charts/a.svg: ", 1, true) ~= nil, true, "message names the path")
end)

T.test("expected failures return nil, message, code", function()
  file.mkdir("adir")
  local ok, msg, code = file.write("adir", "x")
  T.eq(ok, nil, "a folder is not a file")
  T.eq(code, "EISDIR", "code")
  T.eq(msg, "adir: Is a directory", "message")
end)

T.test("writing outside the allowed folders raises", function()
  T.checkerror("/etc/vouch-test: write access denied (allow it with --allow-write=PATH)",
    file.write, "/etc/vouch-test", "x")
  T.checkerror("write access denied", file.mkdir, "/usr/vouch-test")
  T.checkerror("write access denied", file.show, "/etc/passwd")
end)

T.test("show opens only the file named by --out", function()
  T.eq(file.write("page.html", "<p>x</p>"), true, "written")
  T.checkerror("page.html: only the file named by --out can be opened", file.show, "page.html")
end)

T.test("misuse raises in Lua's words", function()
  T.checkerror("write' (string expected, got no value)", file.write, "x")
  T.checkerror("stdout' (string expected, got table)", file.stdout, {})
end)
