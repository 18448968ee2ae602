-- zlib library (lua-api §8); needs the Go host.
local H = dofile("testdata/harness.lua")
local eq, ok, raises = H.eq, H.ok, H.raises

local samples = { "", "a", "hello, world", string.rep("a", 1024), string.rep("\0\255", 3000) }
local bin = {}
for i = 0, 255 do
    bin[#bin + 1] = string.char(i)
end
samples[#samples + 1] = table.concat(bin):rep(20)

for i, s in ipairs(samples) do
    local z = zlib.compress(s)
    eq(zlib.uncompress(z), s, "compress round trip " .. i)
    eq(z:byte(1) % 16, 8, "zlib CM=8 " .. i)
    eq((z:byte(1) * 256 + z:byte(2)) % 31, 0, "zlib header check " .. i)
    local g = zlib.gzip(s)
    eq(g:sub(1, 2), "\31\139", "gzip magic " .. i)
    eq(zlib.gunzip(g), s, "gzip round trip " .. i)
end
ok(#zlib.compress(string.rep("a", 1024)) < 256, "1 KiB of a compresses below 256 bytes")
ok(#zlib.gzip(string.rep("a", 1024)) < 256, "gzip compresses too")
eq(zlib.uncompress(zlib.compress("")), "", "empty stream")

-- concatenated gzip members
eq(zlib.gunzip(zlib.gzip("abc") .. zlib.gzip("def")), "abcdef", "concatenated members")

-- corrupt input
local z = zlib.compress("hello, world")
raises("uncompress error", zlib.uncompress, "garbage")
raises("uncompress error", zlib.uncompress, z:sub(1, #z - 3))
raises("uncompress error", zlib.uncompress, z:sub(1, #z - 1) .. string.char((z:byte(#z) + 1) % 256))
raises("uncompress error", zlib.uncompress, "")
local g = zlib.gzip("hello, world")
raises("gunzip error", zlib.gunzip, "\31\138" .. g:sub(3))
raises("gunzip error", zlib.gunzip, g:sub(1, #g - 4))
raises("gunzip error", zlib.gunzip, g:sub(1, #g - 8) .. "\0\0\0\0" .. g:sub(#g - 3))
raises("gunzip error", zlib.gunzip, "")

-- argument checks
raises("bad argument #1", zlib.compress, {})
raises("bad argument #1", zlib.gunzip, nil)
eq(zlib.uncompress(zlib.compress(12)), "12", "numbers are strings")

return H.count
