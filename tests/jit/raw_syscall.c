/* raw_syscall.c - wx_toggle's W^X JIT with every memory call made by a syscall instruction of its own (no libc, no hook sees it): only jitperf's scan of executable memory at each pass finds the code. */
#define JL_VIA_RAW 1
#include "wx_toggle.c"
