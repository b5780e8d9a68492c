/* syscall_rwx.c - rwx_late's JIT (one RWX mapping, code written later with no call) with the mapping made through libc's syscall() by number. */
#define JL_VIA_SYSCALL 1
#include "rwx_late.c"
