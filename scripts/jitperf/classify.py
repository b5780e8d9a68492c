"""The one definition of JIT code in a perf sample: the summary, the flame graph and the end-to-end tests all ask this module.

A frame is in JIT code when it lies in memory that only a JIT makes
executable: what perf inject made from a jitdump (jitted-<pid>-<n>.so), what
perf names from a perf map (/tmp/perf-<pid>.map, "[JIT] tid <n>"), and the
kinds of memory perf shows when nobody described the code: anonymous
(//anon, [anon:...], [heap], [unknown] once inject dropped the anonymous
mmap events), a memfd, or a file unlinked while mapped ("(deleted)": liborc's
dual mapping).  It is named when perf found a symbol for it.
"""
import os
import re

NAMED = 'named'
UNNAMED = 'unnamed'
OTHER = 'other'

# Where perf's name came from, for a named JIT frame.
VIA_JITDUMP = 'jitdump'
VIA_PERF_MAP = 'perf map'
VIA_SYMBOL = 'symbol'

UNKNOWN = '[unknown]'
# x86-64 kernel half: a frame there is kernel code whatever its dso reads.
KERNEL_START = 0xffff800000000000

_JITTED = re.compile(r'jitted-\d+-\d+\.so$')
_PERF_MAP = re.compile(r'perf-\d+\.map$')
_UNDESCRIBED_PREFIXES = ('//anon', '[anon:', '/memfd:', 'memfd:')
_UNDESCRIBED_NAMES = ('[unknown]', '[heap]')


def is_kernel(ip, dso):
    return ip >= KERNEL_START or _kernel_dso(dso)


def _kernel_dso(dso):
    return dso.startswith('[kernel') or dso.endswith('/vmlinux')


def jit_source(dso):
    """How perf names code in this dso if it is JIT memory, else None."""
    base = os.path.basename(dso)
    if _JITTED.match(base):
        return VIA_JITDUMP
    if _PERF_MAP.match(base) or dso.startswith('[JIT] tid '):
        return VIA_PERF_MAP
    if (dso in _UNDESCRIBED_NAMES or dso.startswith(_UNDESCRIBED_PREFIXES)
            or dso.endswith(' (deleted)')):
        return VIA_SYMBOL
    return None


def classify(sym, dso, kernel_address=False):
    """(NAMED|UNNAMED|OTHER, via) of a frame; via is None unless NAMED.
    kernel_address: the frame's address is in the kernel's half."""
    if kernel_address or _kernel_dso(dso):
        return OTHER, None
    # perf 6.1 may put its "[JIT] tid <n>" grouping in the symbol column.
    if sym.startswith('[JIT] tid '):
        return UNNAMED, None
    via = jit_source(dso)
    if via is None:
        return OTHER, None
    if sym == UNKNOWN or not sym:
        return UNNAMED, None
    return NAMED, via

