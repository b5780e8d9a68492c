-- luajit_work.lua - a fixed amount of LuaJIT work that keeps compiling traces (each one a W^X toggle of the mcode area): a hot kernel plus a stream of generated functions, each hot long enough to be traced.
--
-- Usage: luajit luajit_work.lua [SCALE]   (SCALE 1 is about 2 s on this machine kind)
local bit = require("bit")

local scale = tonumber(arg and arg[1] or "1") or 1

local function kernel(n, x)
	for i = 1, n do
		x = bit.band(x * 69069 + 12345 + i, 0x7fffffff)
		x = bit.bxor(x, bit.rshift(x, 7))
	end
	return x
end

-- A new function with its own constants and shape: a new trace (or a few).
local function fresh(k)
	local lines = { "local bit = require('bit')", "return function(n, x)", "  for i = 1, n do" }
	for j = 0, 2 + k % 4 do
		lines[#lines + 1] = string.format("    x = bit.band(x * %d + %d + i, 0x7fffffff)", 2 * (k + j) + 1,
			(k * 31 + j * 17) % 65536)
	end
	if k % 3 == 0 then
		lines[#lines + 1] = string.format("    if x %% 7 == %d then x = x + %d end", k % 7, k)
	end
	lines[#lines + 1] = "  end"
	lines[#lines + 1] = "  return x"
	lines[#lines + 1] = "end"
	return assert(loadstring(table.concat(lines, "\n")))()
end

local rounds = math.floor(500 * scale + 0.5)
local x = 1
for r = 1, rounds do
	x = kernel(400000, x)
	local f = fresh(r)
	x = f(20000, x)
end
print(string.format("luajit_work: rounds=%d x=%d", rounds, x))
