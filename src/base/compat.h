/*
 * compat.h - the first include of every tock source file.
 *
 * Pulls in the standard headers nearly every module uses, then bans the libc
 * functions that have no bound or keep hidden global state (git's banned.h
 * habit): using one is a compile error, so the rule is kept by the compiler
 * rather than by memory.  Use snprintf, memcpy with an explicit length,
 * strtoll with end-pointer checks, and the reentrant time functions instead.
 */
#ifndef TOCK_BASE_COMPAT_H
#define TOCK_BASE_COMPAT_H

#include <errno.h>
#include <inttypes.h>
#include <limits.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define TOCK_BANNED(func) sorry_##func##_is_a_banned_function

#undef strcpy
#define strcpy(x, y) TOCK_BANNED(strcpy)
#undef strcat
#define strcat(x, y) TOCK_BANNED(strcat)
#undef sprintf
#define sprintf(...) TOCK_BANNED(sprintf)
#undef vsprintf
#define vsprintf(...) TOCK_BANNED(vsprintf)
#undef gets
#define gets(x) TOCK_BANNED(gets)
#undef atoi
#define atoi(x) TOCK_BANNED(atoi)
#undef atol
#define atol(x) TOCK_BANNED(atol)
#undef strtok
#define strtok(x, y) TOCK_BANNED(strtok)
#undef gmtime
#define gmtime(x) TOCK_BANNED(gmtime)
#undef localtime
#define localtime(x) TOCK_BANNED(localtime)
#undef ctime
#define ctime(x) TOCK_BANNED(ctime)
#undef asctime
#define asctime(x) TOCK_BANNED(asctime)

#define ARRAY_SIZE(a) (sizeof(a) / sizeof((a)[0]))

/*
 * qsort for arrays that may be empty: qsort(NULL, 0, ...) is undefined
 * behaviour (UBSan reports it), and an empty array's pointer is often NULL.
 * Use this, never qsort directly.
 */
static inline void sort_array(void *base, size_t n, size_t size,
                              int (*cmp)(const void *, const void *))
{
    if (n > 1)
        qsort(base, n, size, cmp);
}

#endif
