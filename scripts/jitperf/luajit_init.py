"""LuaJIT's own names: the LUA_INIT chunk that writes each trace to /tmp/perf-<pid>.map as it is made.

LuaJIT has no switch for a perf map (only the compile-time
LUAJIT_USE_PERFTOOLS), but the standalone `luajit` runs the LUA_INIT
variable (a chunk, or @file) before the script, and its jit.attach API
reports every trace: on "start" where it starts (function and bytecode
position; the parent trace for a side trace), on "stop" its machine code
and address (jit.util.tracemc).  The chunk below names each trace by that
place, `lua:bench.lua:34 loop`, never by its number: LuaJIT numbers traces
in the order it makes them, which changes from run to run.

What was checked on LuaJIT 2.1.0-beta3 (Debian 12), and why the chunk is
as it is:
- jit.util.funcinfo's `loc` for a chunk loaded from a string of more than
  40 bytes is the prototype's address ("0x7ff2...:1"): a new name every
  run.  The chunk builds its own from `source`: the file's base name (as
  LuaJIT's -jv shows it), the name after "=", or for a string chunk Lua's
  own [string "first line..."] with a hash of the whole source, since a
  program that generates code makes many chunks with the same first line.
- LuaJIT keeps one handler per event: a later jit.attach(f, "trace") (the
  program's own, or -jv and -jdump, which luajit runs after LUA_INIT)
  replaces ours.  Theirs wins, the names stop, the program runs as it
  would.  Detaching (jit.attach(f)) removes only f.
- An error in a handler makes LuaJIT print "VM handler failed" on stderr:
  the handler runs under pcall and detaches itself on any error, and when
  the map cannot be opened or written.
- The pid: /proc/self/stat, read by the process itself.  Not the FFI:
  ffi.cdef declarations are global, and a later declaration of the same
  name by the program is silently ignored (checked: `long getpid(void)`
  after our `int getpid(void)` raises nothing).
- Traces made while the handler runs: none (the trace counts of -jv are
  the same with and without it).
- PUC Lua reads LUA_INIT too (when LUA_INIT_5_x is not set): everything
  is guarded by `jit.attach` existing, and the code is valid Lua 5.1-5.4.

The map is written unbuffered, a line per trace: libjitperf.so reads it
while the program runs, and perf-map readers take the newest line for an
address (a trace flush reuses the mcode area).

A LUA_INIT of the user's own still runs, after ours, exactly as luajit
would run it: a chunk loaded with the chunk name "=LUA_INIT", an @file
with loadfile; a load error is raised as its message alone, so luajit
prints the same "luajit: LUA_INIT:1: ..." or "cannot open ..." line and
exits 1 as without us (the traceback under it has one more line).
"""
import os

# Comments and indentation are dropped when the chunk is built (one line:
# run.txt and `python3 -m jitperf.runtimes` print VAR=VALUE a line), so:
# no comment after code on a line, no line starting with "(".
LUA_SOURCE = r'''
if type(jit) == "table" and type(jit.attach) == "function" then
  pcall(function()
    local util, bit = require("jit.util"), require("bit")
    local funcinfo, tracemc, traceinfo = util.funcinfo, util.tracemc, util.traceinfo
    local byte, format, gsub, match, sub = string.byte, string.format, string.gsub, string.match, string.sub
    local starts, chunks, out, handler = {}, {}, nil, nil
    -- a chunk's readable name; a string chunk's carries an FNV-1a hash of its source
    local function chunk(src)
      local name = chunks[src]
      if name then return name end
      local c = byte(src, 1)
      if c == 64 then
        name = match(sub(src, 2), "[^/]*$")
      elseif c == 61 then
        name = sub(src, 2)
      else
        local h = -2128831035
        for i = 1, #src do
          h = bit.bxor(h, byte(src, i))
          h = bit.tobit(h * 403 + bit.lshift(h, 24))
        end
        local first = match(src, "^[^\r\n]*")
        if #first > 30 or #first < #src then first = sub(first, 1, 30) .. "..." end
        name = format("[string \"%s\"]#%s", first, bit.tohex(h))
      end
      name = gsub(name, "%c", "?")
      chunks[src] = name
      return name
    end
    local function stop()
      jit.attach(handler)
      if out then out:close() end
      out = nil
    end
    local function event(what, tr, func, pc, otr, oex)
      if what == "start" then
        local fi = funcinfo(func, pc)
        local kind = "root"
        if otr then kind = oex == -1 and "stitch" or "side" end
        starts[tr] = format("lua:%s:%d %s", fi.source and chunk(fi.source) or "?", fi.currentline or 0, kind)
      elseif what == "stop" then
        local name = starts[tr]
        starts[tr] = nil
        local mc, addr = tracemc(tr)
        if not (name and mc and addr) then return end
        if sub(name, -5) == " root" and traceinfo(tr).linktype == "loop" then name = sub(name, 1, -5) .. "loop" end
        if not out then
          local f = io.open("/proc/self/stat")
          local pid = f and match(f:read("*l") or "", "^%d+")
          if f then f:close() end
          out = pid and io.open("/tmp/perf-" .. pid .. ".map", "a")
          if not out then return stop() end
          out:setvbuf("no")
        end
        if not out:write(format("%x %x %s\n", addr, #mc, name)) then stop() end
      elseif what == "abort" then
        starts[tr] = nil
      elseif what == "flush" then
        starts = {}
      end
    end
    handler = function(...)
      if not pcall(event, ...) then stop() end
    end
    jit.attach(handler, "trace")
  end)
end
'''

# The user's own LUA_INIT, run after ours as luajit runs it.
LUA_CHAIN = r'''
local init, f, err = %s, nil, nil
if string.sub(init, 1, 1) == "@" then
  f, err = loadfile(string.sub(init, 2))
else
  f, err = (loadstring or load)(init, "=LUA_INIT")
end
if not f then error(err, 0) end
return f()
'''


def lua_string(value):
    """value (str, as os.environ holds it, or bytes) as a Lua string
    literal: printable ASCII as it is, every other byte as \\ddd (three
    digits, so a digit after it is not read into it; Lua 5.1 and later)."""
    data = os.fsencode(value) if isinstance(value, str) else value
    return '"' + ''.join(chr(b) if 32 <= b < 127 and b not in (34, 92) else '\\%03d' % b for b in data) + '"'


def one_line(source):
    return ' '.join(line.strip() for line in source.splitlines()
                    if line.strip() and not line.strip().startswith('--'))


def chunk(user_init=None):
    """The LUA_INIT value: our chunk, then the user's (None: none set)."""
    text = one_line(LUA_SOURCE)
    if user_init is not None:
        text += ' ' + one_line(LUA_CHAIN % lua_string(user_init))
    return text
