-- Version-neutral assertions: run by `go test` through OpenCompat and by
-- real lua5.4 to anchor the semantics.
local function eq(a, b, msg)
  if a ~= b then error((msg or "") .. ": got " .. tostring(a) .. ", want " .. tostring(b), 2) end
end

-- table
eq(select("#", table.unpack({1, 2, 3})), 3, "unpack")
eq(select(2, table.unpack({1, 2, 3})), 2, "unpack 2")
eq(select("#", table.unpack({1, 2, 3}, 2, 3)), 2, "unpack range")
local p = table.pack(1, nil, 3)
eq(p.n, 3, "pack n"); eq(p[3], 3, "pack 3")
local m = table.move({1, 2, 3}, 1, 3, 2)
eq(m[1], 1); eq(m[2], 1); eq(m[3], 2); eq(m[4], 3)
local dst = table.move({1, 2}, 1, 2, 1, {})
eq(#dst, 2, "move to other")

-- math
eq(math.type(1), "integer"); eq(math.type("1"), nil); eq(math.type({}), nil)
eq(math.type(0.5), "float")
eq(math.tointeger(3), 3); eq(math.tointeger(3.5), nil); eq(math.tointeger("8"), 8)
eq(math.ult(1, -1), true); eq(math.ult(-1, 1), false)
eq(math.huge, 1/0); eq(-math.huge, -1/0)
eq(math.mininteger < 0, true); eq(math.maxinteger > 2^62, true)

-- exact 64-bit integers
eq(_VERSION, "Lua 5.4")
local maxi, mini = math.maxinteger, math.mininteger
eq(tostring(maxi), "9223372036854775807"); eq(tostring(mini), "-9223372036854775808")
eq(maxi + 1, mini, "wrap"); eq(mini - 1, maxi, "wrap down"); eq(-mini, mini, "-mininteger")
eq(type(maxi), "number"); eq(math.type(maxi), "integer"); eq(math.type(1 << 60), "integer")
eq(math.tointeger(maxi), maxi); eq(math.tointeger("9223372036854775807"), maxi)
eq(math.tointeger("0x7fffffffffffffff"), maxi); eq(math.tointeger(2^53 + 0.5), 2^53)
eq(tonumber("9007199254740993"), 9007199254740993); eq(tonumber("0xffffffffffffffff"), -1)
eq(tonumber("-9223372036854775808"), mini); eq(tonumber(" 0x10 "), 16)
eq(tonumber("9223372036854775808"), 2^63, "decimal overflow is a float")
eq(tonumber("ffffffffffffffff", 16), -1); eq(tonumber("-zz", 36), -1295)
eq(tonumber("7fffffffffffffff", 16), maxi); eq(tonumber("12", 3), 5); eq(tonumber("9", 8), nil)
eq(tonumber(maxi), maxi); eq(tonumber(nil), nil)
eq(string.format("%d", maxi), "9223372036854775807")
eq(string.format("%i|%5d", mini, 1 << 54), "-9223372036854775808|18014398509481984")
eq(string.format("%x %X", 0xFFC0000000000000, maxi), "ffc0000000000000 7FFFFFFFFFFFFFFF")
eq(string.format("%x", -1), "ffffffffffffffff")
eq(string.format("%q", maxi), "9223372036854775807"); eq(string.format("%q", mini), "0x8000000000000000")
eq(string.format("%q", 9007199254740993), "9007199254740993")
eq(string.format("%.0f", 1 << 60), "1152921504606846976")
eq(string.format("%s", 1 << 60), "1152921504606846976")
eq(math.abs(-(1 << 60)), 1 << 60); eq(math.abs(mini), mini)
eq(math.max(1, maxi, 2), maxi); eq(math.min(1, mini, 2^63), mini)
eq(math.max(9007199254740993, 9007199254740992), 9007199254740993)
eq(math.floor(maxi), maxi); eq(math.ceil(1 << 60), 1 << 60)
eq(math.ult(maxi, mini), true)
local keys = {}
keys[1 << 60] = "a"; keys[(1 << 59) * 2] = keys[1 << 60] .. "b"
eq(keys[0x1000000000000000], "ab", "equal integers are one key")
eq((0x20010db800000000 & 0xFFC0000000000000) == 0x2000000000000000, true, "64-bit mask")
eq(9007199254740993 > 9007199254740992, true); eq(maxi < 2^63, true); eq(mini >= -2^63, true)
eq(maxi .. "", "9223372036854775807")
eq(table.concat({ 1, maxi, "x", 2.5, mini }, ","), "1,9223372036854775807,x,2.5,-9223372036854775808")
eq(table.concat({ "a", "b", "c" }, "-", 2), "b-c"); eq(table.concat({}, "x"), "")
eq(pcall(table.concat, { 1, {} }), false, "table.concat rejects tables")
eq(select(2, pcall(table.concat, { "a" }, ",", 1, 2)):match("invalid value %(nil%) at index 2 in table for 'concat'") ~= nil, true)
local sorted = { maxi, 3, mini, 1 << 60, -1, 9007199254740993, 9007199254740992 }
table.sort(sorted)
eq(table.concat(sorted, " "), "-9223372036854775808 -1 3 9007199254740992 9007199254740993 1152921504606846976 9223372036854775807")
table.sort(sorted, function(a, b) return a > b end)
eq(sorted[1], maxi); eq(sorted[7], mini)
eq(pcall(setmetatable, 1 << 60, {}), false, "setmetatable on an integer")
eq(math.sqrt(1 << 60), 2^30); eq(math.fmod(7, 3), 1); eq(math.exp(0), 1)

-- utf8
eq(utf8.char(72, 233, 8364, 128512), "H\u{E9}\u{20AC}\u{1F600}", "utf8.char")
eq(utf8.len("H\u{E9}\u{20AC}\u{1F600}"), 4, "utf8.len")
local n, pos = utf8.len("ab\xffc")
eq(n, nil); eq(pos, 3, "utf8.len invalid")
eq(select("#", utf8.codepoint("h\u{E9}llo", 1, -1)), 5)
eq(select(2, utf8.codepoint("h\u{E9}llo", 1, -1)), 233)
eq(utf8.offset("h\u{E9}llo", 3), 4, "offset 3")
eq(utf8.offset("h\u{E9}llo", -1), 6, "offset -1")
eq(utf8.offset("h\u{E9}llo", 0, 3), 2, "offset 0")
local codes = {}
for p, c in utf8.codes("a\u{E9}b") do codes[#codes + 1] = p .. ":" .. c end
eq(table.concat(codes, ","), "1:97,2:233,4:98", "codes")
eq(("x"):match(utf8.charpattern), "x")
eq(select("#", ("\u{E9}\u{20AC}"):gsub(utf8.charpattern, "")), 2)
eq(pcall(utf8.codepoint, "\xff"), false, "invalid codepoint")
eq(utf8.len("\u{D800}", 1, -1, true), 1, "lax surrogate")
eq(utf8.len("\u{D800}"), nil, "strict surrogate")

-- string.format
eq(string.format("%q", "a\nb\0c\"\\\r\1272"), '"a\\\nb\\0c\\"\\\\\\13\\1272"', "%q")
eq(string.format("%q", 1 / 0), "1e9999"); eq(string.format("%q", -1 / 0), "-1e9999")
eq(string.format("%q", 0 / 0), "(0/0)")
eq(string.format("%q", 42), "42"); eq(string.format("%q", math.mininteger), "0x8000000000000000")
eq(string.format("%q", 0.5), "0x1p-1")
eq(string.format("%i|%d|%5d|%-5d|%05d", 7, -3, 42, 42, 42), "7|-3|   42|42   |00042")
eq(string.format("%x %X %#x %o", 255, 255, 255, 8), "ff FF 0xff 10")
eq(string.format("%x", -1), "ffffffffffffffff", "%x negative")
eq(string.format("%5.2f|%e|%g|%g|%g", 3.14159, 12345.678, 0.0001, 1e20, 100), " 3.14|1.234568e+04|0.0001|1e+20|100")
eq(string.format("%a", 1), "0x1p+0"); eq(string.format("%a", 0.5), "0x1p-1")
eq(string.format("%s|%10s|%-4s|%.2s", "x", "right", "l", "abc"), "x|     right|l   |ab")
eq(string.format("%s %s %s", nil, true, 12), "nil true 12")
eq(string.format("%c%c", 72, 105), "Hi")
eq(string.format("%f", 1/0), "inf"); eq(string.format("%.1f", -1/0), "-inf")
eq(string.format("%5s", setmetatable({}, {__tostring = function() return "T" end})), "    T")
eq(pcall(string.format, "%d", 1.5), false, "%d of 1.5")
eq(string.format("%d", "10"), "10")
eq(string.format("%%"), "%")

-- string case: ASCII only
eq(string.upper("abc\u{E9}"), "ABC\u{E9}"); eq(string.lower("ABC\u{C9}"), "abc\u{C9}")

-- os.date
eq(os.date("!%F %T", 0), "1970-01-01 00:00:00", "date F T")
eq(os.date("!%Y-%m-%d %H:%M:%S %j %a %A %b %B %p %y %C %e %D %R %u %w", 86400 * 40 + 3600 * 13 + 61),
  "1970-02-10 13:01:01 041 Tue Tuesday Feb February PM 70 19 10 02/10/70 13:01 2 2", "date codes")
eq(os.date("!%z", 0), "+0000")
eq(os.date("!%c", 0), "Thu Jan  1 00:00:00 1970")
eq(os.date("!%x %X %I %r", 0), "01/01/70 00:00:00 12 12:00:00 AM")
eq(os.date("!%V %G %g %U %W", 1704067200), "01 2024 24 00 01", "iso week")
local t = os.date("!*t", 86400 + 7200)
eq(t.year, 1970); eq(t.month, 1); eq(t.day, 2); eq(t.hour, 2); eq(t.min, 0); eq(t.sec, 0)
eq(t.wday, 6); eq(t.yday, 2); eq(t.isdst, false)
eq(type(os.date("*t").year), "number")
eq(pcall(os.date, "%Q"), false, "invalid conversion")
eq(os.date("!%%|%n|%t", 0), "%|\n|\t")

-- coroutine
local co, main = coroutine.running()
eq(type(co), "thread"); eq(main, true)
eq(coroutine.isyieldable(), false)
local inner = coroutine.wrap(function()
  local c, m = coroutine.running()
  return type(c), m, coroutine.isyieldable()
end)
local ty, m2, y = inner()
eq(ty, "thread"); eq(m2, false); eq(y, true)

-- base
eq(select("#"), 0); eq(select("#", nil, nil), 2); eq(select(-1, 1, 2, 3), 3)
eq(rawequal("a", "a"), true); eq(rawequal({}, {}), false)
eq(rawlen({1, 2}), 2); eq(rawlen("abc"), 3)
eq(tostring(0.1), "0.1"); eq(tostring(1/3), "0.33333333333333"); eq(tostring(-1/0), "-inf")
eq(tostring(1e100), "1e+100"); eq(tostring(12), "12")

-- load
eq(load("return 1 + 1")(), 2)
eq(select(2, load("x =", "=chunk")), "chunk:1: unexpected symbol near <eof>")
eq(select(2, load("x =")), [[[string "x ="]:1: unexpected symbol near <eof>]])
local parts = {"return ", "6 ", "& 3"}
local i = 0
eq(load(function() i = i + 1; return parts[i] end)(), 2, "load reader")
eq(select(2, load("\27Lua", "b", "t")), "attempt to load a binary chunk (mode is 't')")
eq(select(2, load("return 1", "x", "b")), "attempt to load a text chunk (mode is 'b')")
local env = {y = 5}
eq(load("return y", "=e", "t", env)(), 5, "env")
load("z = 9", "=e", "t", env)(); eq(env.z, 9); eq(rawget(_G, "z"), nil)
eq(load("return 1 << 4, 7 // 2", "=(unmarshal)", "t", {})(), 16, "ops with empty env")
eq(pcall(load("return x", "=n", "t", nil)), false, "nil env")
eq(loadstring and loadstring("return 3")() or 3, 3)
local sand = setmetatable({}, {__index = _G})
eq(load("return 0xF0 | 0x0F", "=s", "t", sand)(), 255)

-- bit32 (Lua 5.2 library; only check when present)
if bit32 then
  eq(bit32.band(0xFF, 0x0F), 0x0F); eq(bit32.bor(1, 2, 4), 7); eq(bit32.bxor(5, 3), 6)
  eq(bit32.bnot(0), 0xFFFFFFFF); eq(bit32.lshift(1, 31), 0x80000000); eq(bit32.lshift(1, 32), 0)
  eq(bit32.rshift(0x80000000, 31), 1); eq(bit32.arshift(0x80000000, 1), 0xC0000000)
  eq(bit32.arshift(0x80000000, 40), 0xFFFFFFFF)
  eq(bit32.lrotate(0x80000001, 1), 3); eq(bit32.rrotate(3, 1), 0x80000001)
  eq(bit32.extract(0xF0, 4, 4), 0xF); eq(bit32.replace(0, 5, 8, 3), 0x500)
  eq(bit32.btest(1, 2), false); eq(bit32.band(-1), 0xFFFFFFFF)
end

print("compat ok")
