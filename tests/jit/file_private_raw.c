/* file_private_raw.c - file_private (a JIT writing code into its MAP_PRIVATE image) with every mmap and mprotect a system call instruction of its own: only the scan of executable memory finds the code. */
#define JL_VIA_RAW 1
#include "file_private.c"
