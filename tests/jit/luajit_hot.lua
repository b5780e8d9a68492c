-- luajit_hot.lua - a LuaJIT workload whose hot loop becomes a trace; prints JITFUNC lines for its traces.
local ffi = require("ffi")
local jutil = require("jit.util")
local bit = require("bit")

ffi.cdef[[
typedef struct { long tv_sec; long tv_nsec; } jl_timespec;
int clock_gettime(int clk, jl_timespec *ts);
int getpid(void);
]]

local function now_ns()
	local ts = ffi.new("jl_timespec")
	ffi.C.clock_gettime(1, ts) -- CLOCK_MONOTONIC, the clock of perf record -k 1
	return ffi.cast("uint64_t", ts.tv_sec) * 1000000000ULL + ts.tv_nsec
end

local function u64(v)
	return tostring(v):gsub("U?LL$", "")
end

local function work(n, x)
	for i = 1, n do
		x = bit.band(x * 69069 + 12345 + i, 0x7fffffff)
		x = bit.bxor(x, bit.rshift(x, 7))
	end
	return x
end

local function cold(n)
	local s = 0
	for i = 1, n do
		s = s + (i % 7) * 3
	end
	return s
end

-- Which function each trace starts in, to tell the hot loop's trace apart.
local started_in = {}
jit.attach(function(what, tr, func)
	if what == "start" then
		started_in[tr] = func
	end
end, "trace")

local budget = tonumber(os.getenv("JIT_SECONDS") or "1.5")
local x = cold(100000) % 1000 + 1
local t0 = now_ns()
local c0 = os.clock()
while os.clock() - c0 < budget do
	x = work(1000000, x)
end
local t1 = now_ns()
jit.attach(function() end)

-- The result must be the interpreter's: run a short stretch both ways.
local check = work(1000, 12345)
jit.off(work)
if work(1000, 12345) ~= check then
	io.stderr:write("luajit_hot: JIT and interpreter disagree\n")
	os.exit(1)
end

local pid = ffi.C.getpid()
local nhot = 0
for tr = 1, 1000 do
	local info = jutil.traceinfo(tr)
	if not info then
		break
	end
	local mcode, addr = jutil.tracemc(tr)
	if mcode and addr then
		local hot = started_in[tr] == work and info.linktype == "loop"
		if hot then
			nhot = nhot + 1
			print(string.format("JITFUNC name=trace%d pid=%d addr=0x%x size=%d hot=1 t0=%s t1=%s",
				tr, pid, addr, #mcode, u64(t0), u64(t1)))
		else
			print(string.format("JITFUNC name=trace%d pid=%d addr=0x%x size=%d hot=0",
				tr, pid, addr, #mcode))
		end
	end
end
if nhot == 0 then
	io.stderr:write("luajit_hot: the hot loop was not compiled\n")
	os.exit(1)
end
print(string.format("luajit_hot: x=%d", x))
