/* syscall_wx.c - wx_toggle's W^X JIT with every memory call made through libc's syscall() by number (a runtime mapping its heap so never reaches the mmap hook). */
#define JL_VIA_SYSCALL 1
#include "wx_toggle.c"
