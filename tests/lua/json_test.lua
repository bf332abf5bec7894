-- json_test.lua: vouch.json (RFC 8259, strict) and vouch.load.json.
local T = require "testlib"
local J = vouch.json

local DATA = arg[0]:match("^(.*)/lua/[^/]*$") .. "/data/json/"

local function err(f, ...)
  local ok, e = pcall(f, ...)
  if ok then error("expected an error, got none", 2) end
  return e
end

-- Decoding errors: text -> "json:line:col: message" (nil, message returned).
local bad = {
  {"", "json:1:1: unexpected token near end of file"},
  {"[1, 2", "json:1:5: ']' expected near end of file"},
  {'{"a":1,}', "json:1:8: string or '}' expected near '}'"},
  {"[1,]", "json:1:4: unexpected token near ']'"},
  {"[NaN]", "json:1:4: invalid token near 'NaN'"},
  {"[Infinity]", "json:1:9: invalid token near 'Infinity'"},
  {"[01]", "json:1:2: invalid token near '0'"},
  {"// c\n1", "json:1:1: invalid token near '/'"},
  {"'a'", "json:1:1: invalid token near '''"},
  {'{"a":\n  tru}', "json:2:5: invalid token near 'tru'"},
  {"1 2", "json:1:3: end of file expected near '2'"},
  {'"\xff"', "json:1:1: unable to decode byte 0xff near '\"'"},
  {'"\\ud800"', "json:1:8: invalid Unicode '\\uD800' near '\"\\ud800\"'"},
  {'"a\0b"', "json:1:2: control character 0x0 near '\"a'"},
  {'"tab\there"', "json:1:4: control character 0x9 near '\"tab'"},
  {"[1e400]", "json:1:6: real number overflow near '1e400'"},
  {"9223372036854775808", "json:1:19: too big integer near '9223372036854775808'"},
  {"-9223372036854775809", "json:1:20: too big negative integer near '-9223372036854775809'"},
  {string.rep("[", 100000), "json:1:2049: maximum parsing depth reached near '['"},
  {string.rep("[", 100000) .. string.rep("]", 100000),
   "json:1:2049: maximum parsing depth reached near '['"},
}
for i, c in ipairs(bad) do
  T.test("decode refuses " .. ("%q"):format(c[1]:sub(1, 24)):gsub("\n", "n"), function()
    local v, msg = J.decode(c[1])
    T.eq(v, nil, "value") T.eq(msg, c[2], "message")
  end)
end

T.test("decode names the input", function()
  local _, msg = J.decode("[", "feed.json")
  T.eq(msg, "feed.json:1:1: ']' expected near end of file")
end)

T.test("RFC 8259 values", function()
  local v = J.decode('{"s":"a\\"b\\\\c\\/d\\u00e9\\ud83d\\ude00","i":-12,"f":1.5e2,' ..
                     '"t":true,"n":null,"a":[1,[2,[3]]],"o":{}}')
  T.eq(v.s, 'a"b\\c/d\u{e9}\u{1F600}')
  T.eq(math.type(v.i), "integer") T.eq(v.i, -12)
  T.eq(math.type(v.f), "float") T.eq(v.f, 150.0)
  T.eq(v.t, true) T.eq(v.a[2][2][1], 3)
  T.eq(J.decode("3"), 3) T.eq(J.decode('"x"'), "x") T.eq(J.decode(" false "), false)
end)

T.test("integers are exact within 64 bits", function()
  T.eq(J.decode("9223372036854775807"), math.maxinteger)
  T.eq(J.decode("-9223372036854775808"), math.mininteger)
  T.eq(J.decode("9007199254740993"), 9007199254740993)
  T.eq(J.encode(9007199254740993), "9007199254740993")
end)

T.test("null is a sentinel, not a missing key", function()
  local v = J.decode('{"a":null,"l":[null,1]}')
  T.eq(v.a, J.null) T.eq(v.b, nil) T.eq(v.l[1], J.null) T.eq(#v.l, 2)
  T.eq(tostring(J.null), "null")
  T.eq(J.encode(v.l), "[null,1]")
  T.eq(J.decode("null"), J.null)
end)

T.test("NUL in strings round-trips", function()
  local s = J.decode('"a\\u0000b"')
  T.eq(#s, 3) T.eq(s, "a\0b")
  T.eq(J.encode(s), '"a\\u0000b"')
  T.eq(J.decode(J.encode(s)), s)
end)

T.test("a NUL byte after a value is refused", function()
  for _, c in ipairs{{"123\0", 4}, {"1.5\0", 4}, {"true\0", 5}, {"[1]\0", 4}} do
    local v, msg = J.decode(c[1])
    T.eq(v, nil, c[1]) T.eq(msg, ("json:1:%d: end of file expected near '\\u0000'"):format(c[2]))
  end
end)

T.test("an escaped NUL in an object key is kept", function()
  local v = assert(J.decode('{"a\\u0000b": 1}'))
  T.eq(v["a\0b"], 1)
  local k = next(v)
  T.eq(#k, 3)
  T.eq(J.encode(v), '{"a\\u0000b":1}')
end)

T.test("encode: arrays, objects and the empty-table rule", function()
  T.eq(J.encode({1, 2, 3}), "[1,2,3]")
  T.eq(J.encode({a = 1}), '{"a":1}')
  T.eq(J.encode({}), "{}", "an unmarked empty table is an object")
  T.eq(J.encode(J.array{}), "[]")
  T.eq(J.encode(J.object{}), "{}")
  T.eq(J.encode(J.decode('{"a":[],"b":{}}'), {sort_keys = true}), '{"a":[],"b":{}}',
    "decoded empty arrays stay arrays")
  T.eq(J.encode("é\n\t\"\\\1"), '"é\\n\\t\\"\\\\\\u0001"')
  T.eq(J.encode(true), "true") T.eq(J.encode(nil), "null")
end)

T.test("encode: numbers", function()
  T.eq(J.encode(0.1), "0.1") T.eq(J.encode(1 / 3), "0.3333333333333333")
  T.eq(J.encode(2.0), "2.0") T.eq(J.encode(-0.0), "-0.0") T.eq(J.encode(1e300), "1e+300")
  T.eq(J.encode(math.mininteger), "-9223372036854775808")
  T.eq(J.decode(J.encode(0.1)), 0.1)
end)

T.test("encode: sorted keys and indent", function()
  T.eq(J.encode({b = 1, a = {y = J.null, x = true}, c = {}}, {sort_keys = true}),
    '{"a":{"x":true,"y":null},"b":1,"c":{}}')
  T.eq(J.encode({b = {1, 2}, a = 1}, {sort_keys = true, indent = 2}),
    '{\n  "a": 1,\n  "b": [\n    1,\n    2\n  ]\n}')
end)

T.test("encode: NaN and the infinities as null when asked", function()
  T.eq(J.encode({0 / 0, 1 / 0, -1 / 0, 1.5, 2}, {nonfinite = "null"}), "[null,null,null,1.5,2]")
  T.eq(J.encode({b = {x = -(0 / 0)}, a = 78.0}, {nonfinite = "null", sort_keys = true}),
    '{"a":78.0,"b":{"x":null}}')
  T.eq(err(J.encode, 0 / 0, {nonfinite = "error"}), "cannot encode a non-finite number (nan)")
  T.eq(err(J.encode, 1, {nonfinite = "zero"}),
    "bad argument #2 to 'encode' (opts.nonfinite must be 'error' or 'null')")
  T.eq(err(J.encode, 1, {nonfinite = true}),
    "bad argument #2 to 'encode' (opts.nonfinite must be 'error' or 'null')")
end)

T.test("encode: bytes that are not UTF-8 as U+FFFD when asked", function()
  local r = {invalid_utf8 = "replace"}
  T.eq(J.encode("caf\xe9.csv", r), '"caf\u{FFFD}.csv"')
  T.eq(J.encode({["k\xff"] = "\xc3", ok = "é"}, {invalid_utf8 = "replace", sort_keys = true}),
    '{"k\u{FFFD}":"\u{FFFD}","ok":"é"}', "keys too; a truncated sequence")
  T.eq(J.encode("\xed\xa0\x80", r), '"\u{FFFD}\u{FFFD}\u{FFFD}"', "a surrogate, byte by byte")
  T.eq(err(J.encode, "\xff", {invalid_utf8 = "error"}), "cannot encode a string that is not valid UTF-8")
  T.eq(err(J.encode, "x", {invalid_utf8 = "drop"}),
    "bad argument #2 to 'encode' (opts.invalid_utf8 must be 'error' or 'replace')")
end)

T.test("encode refuses what JSON cannot hold", function()
  local t = {} t.self = t
  T.eq(err(J.encode, t), "cannot encode a table that contains itself")
  T.eq(err(J.encode, {1, nil, 3}), "cannot encode a table with mixed or sparse keys " ..
    "(use string keys for an object or the keys 1..n for an array)")
  T.eq(err(J.encode, {1, x = 2}), "cannot encode a table with mixed or sparse keys " ..
    "(use string keys for an object or the keys 1..n for an array)")
  T.eq(err(J.encode, 0 / 0), "cannot encode a non-finite number (nan)")
  T.eq(err(J.encode, {1 / 0}), "cannot encode a non-finite number (inf)")
  T.eq(err(J.encode, -1 / 0), "cannot encode a non-finite number (-inf)")
  T.eq(err(J.encode, print), "cannot encode a function")
  T.eq(err(J.encode, "\xff"), "cannot encode a string that is not valid UTF-8")
  local deep = {} local cur = deep
  for _ = 1, 100000 do cur[1] = {} cur = cur[1] end
  T.eq(err(J.encode, deep), "cannot encode tables nested deeper than 1000")
  T.eq(err(J.encode, J.object{1}), "cannot encode an object with a key that is not a string")
  -- a table shared twice is not a cycle
  local shared = {1}
  T.eq(J.encode({shared, shared}), "[[1],[1]]")
end)

-- vouch.load.json: whole documents.
T.test("load.json: an array of objects yields rows", function()
  local rows = assert(vouch.load.json(DATA .. "rows.json")):all()
  T.eq(#rows, 2) T.eq(rows[1].id, "P1") T.eq(rows[1].tags[2], "b")
  T.eq(rows[1].x, vouch.json.null) T.eq(rows[2].n, 2.5) T.eq(rows[2].x.k, true)
end)

T.test("load.json: an object is one row", function()
  local rows = assert(vouch.load.json(DATA .. "object.json")):all()
  T.eq(#rows, 1) T.eq(rows[1].n, 9)
  T.eq(#assert(vouch.load.json(DATA .. "empty_array.json")):all(), 0)
end)

T.test("load.json: errors name file:line:column", function()
  T.eq(err(vouch.load.json, DATA .. "bad.json"),
    DATA .. "bad.json:2:13: string or '}' expected near '}'")
  T.eq(err(vouch.load.json, DATA .. "truncated.json"),
    DATA .. "truncated.json:2:11: '}' expected near end of file")
  T.eq(err(vouch.load.json, DATA .. "empty.json"),
    DATA .. "empty.json:1:1: unexpected token near end of file")
  T.eq(err(vouch.load.json, DATA .. "scalar.json"),
    DATA .. "scalar.json:1:1: expected an array or an object")
  local src, msg, code = vouch.load.json("none.json")
  T.eq(src, nil) T.eq(msg, "none.json: No such file or directory") T.eq(code, "ENOENT")
end)

T.test("load.json: into() stores objects, nested values as JSON text", function()
  local db = vouch.db.open()
  T.eq(assert(vouch.load.json(DATA .. "rows.json")):into(db, "jrows"), 2)
  local r = db:one("SELECT * FROM jrows WHERE id = 'P1'")
  T.eq(r.tags, '["a","b"]') T.eq(r.x, nil) T.eq(r.n, 1)
  T.eq(db:one("SELECT x FROM jrows WHERE id = 'P2'").x, '{"k":true}')
  local l = db:one("SELECT * FROM loads ORDER BY id DESC LIMIT 1")
  T.eq(l.format, "json") T.eq(l.rows, 2) T.eq(#l.hash, 32)
end)

-- A document past the first read (512 KiB) is streamed element by element.
local function array_file(name, n, extra)
  local parts = {}
  for i = 1, n do parts[i] = ('{"id":"P%d","n":%d,"s":"%s"}'):format(i, i, ("x"):rep(i % 50)) end
  for i, e in pairs(extra or {}) do parts[i] = e end
  assert(vouch.file.write(name, "[" .. table.concat(parts, ",\n") .. "]\n"))
end

T.test("load.json: a large array streams, an element longer than a read whole", function()
  array_file("big.json", 30000, {[12345] = '{"id":"big","s":"' .. ("y"):rep(1500000) .. '"}'})
  local n, big, last = 0, nil, nil
  local src = assert(vouch.load.json("big.json"))
  for r in src:rows() do
    n = n + 1
    if r.id == "big" then big = #r.s end
    last = r
  end
  T.eq(n, 30000) T.eq(big, 1500000) T.eq(last.id, "P30000") T.eq(src.line, 30000)
  local db = vouch.db.open()
  T.eq(assert(vouch.load.json("big.json")):into(db, "big"), 30000)
  T.eq(db:one("SELECT n FROM big WHERE id = 'P29999'").n, 29999)
  T.eq(db:one("SELECT length(s) AS n FROM big WHERE id = 'big'").n, 1500000)
end)

T.test("load.json: an error past the first read is raised by the row that meets it", function()
  array_file("late.json", 40001, {[40001] = '{"id":"P",}'})
  local src = assert(vouch.load.json("late.json"))
  local it, n = src:rows(), 0
  local ok, e = pcall(function() while it(src) do n = n + 1 end end)
  T.eq(ok, false) T.eq(n, 40000)
  T.eq(e, "late.json:40001:11: string or '}' expected near '}'")
  array_file("tail.json", 40000)
  local f = assert(vouch.load.json("tail.json"))
  n = 0
  for _ in f:rows() do n = n + 1 end
  T.eq(n, 40000)
end)

-- Reals: the decoder's fast path (short decimals) and strtod (the rest)
-- must give the double that tonumber (strtod) gives, to the last bit.
T.test("decode: reals are correctly rounded, fast path or not", function()
  local cases = {"0.1", "-0.0", "0.0", "1.5e-3", "9007199254740993.0", "9007199254740992.0",
    "123456789012345678.9", "1e22", "1e23", "1e-22", "1e-23", "4.9406564584124654e-324",
    "2.2250738585072014e-308", "1.7976931348623157e308", "0.30000000000000004",
    "12345678901234567890.0", "1.00000000000000011102230246251565404236316680908203125",
    "5e-324", "0.000001", "1E+2", "1e-0", "-12.345e+20", "3.14159265358979323846"}
  math.randomseed(7)
  for _ = 1, 3000 do
    local digits = tostring(math.random(0, 10 ^ math.random(1, 17)))
    local point = math.random(0, #digits)
    local s = digits:sub(1, point) .. "." .. digits:sub(point + 1) .. "0"
    if s:sub(1, 1) == "." then s = "0" .. s end
    if math.random() < 0.3 then s = s .. "e" .. math.random(-30, 30) end
    if math.random() < 0.5 then s = "-" .. s end
    cases[#cases + 1] = s
  end
  for _, s in ipairs(cases) do
    local got = J.decode("[" .. s .. "]")[1]
    T.eq(("%a"):format(got), ("%a"):format(tonumber(s)), s)
    T.eq(math.type(got), "float", s)
  end
end)

T.test("decode: keys remembered by place are the right ones", function()
  local a = J.decode('[{"a":1,"b":2},{"b":3,"a":4},{"a":5,"bb":6},{"":7,"a":8},{"a":{"a":9}}]')
  T.eq(a[1].a, 1) T.eq(a[1].b, 2) T.eq(a[2].a, 4) T.eq(a[2].b, 3)
  T.eq(a[3].bb, 6) T.eq(a[3].b, nil) T.eq(a[4][""], 7) T.eq(a[4].a, 8) T.eq(a[5].a.a, 9)
  local long = ("k"):rep(60)
  T.eq(J.decode('{"' .. long .. '":1}')[long], 1)
  collectgarbage() collectgarbage()
  T.eq(J.decode('{"a":1,"b":2}').b, 2, "after a collection")
end)
