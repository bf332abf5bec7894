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

T.test("hash gives a file's bytes as vouch.hash gives a text's", function()
  local text = string.rep("id,name\nP1,Ann\n", 9000)  -- larger than one read
  T.eq(file.write("h.csv", text), true, "written")
  T.eq(file.hash("h.csv"), vouch.hash(text), "same as the text's")
  T.eq(file.write("h0.csv", ""), true, "empty written")
  T.eq(file.hash("h0.csv"), vouch.hash(""), "an empty file")
  T.eq(file.write("h2.csv", text:sub(1, -2) .. "m"), true, "one byte changed")
  T.eq(file.hash("h2.csv") ~= file.hash("h.csv"), true, "another hash")
  local ok, msg, code = file.hash("no-such.csv")
  T.eq(ok, nil, "a missing file")
  T.eq(code, "ENOENT", "code")
  T.eq(msg, "no-such.csv: No such file or directory", "message")
  T.eq(select(3, file.hash("adir")), "EISDIR", "a folder")
  T.checkerror("/etc/passwd: read access denied (allow it with --allow-read=PATH)",
    file.hash, "/etc/passwd")
  T.checkerror("hash' (string expected, got no value)", file.hash)
end)
