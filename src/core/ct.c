/* Constant-time comparison and wiping: the only places fwseal compares secrets or clears them. */
#include "fwseal/core.h"

int fws_ct_eq(const void *a, const void *b, size_t n)
{
    const volatile uint8_t *x = a;
    const volatile uint8_t *y = b;
    uint32_t diff = 0;
    for (size_t i = 0; i < n; i++)
        diff |= (uint32_t)(x[i] ^ y[i]);
    /* 1 when diff == 0, without a data-dependent branch. */
    return (int)(1u & ((diff - 1u) >> 8));
}

void fws_wipe(void *p, size_t n)
{
    volatile uint8_t *v = p;
    for (size_t i = 0; i < n; i++)
        v[i] = 0;
    /* Tell the compiler the memory is observed so the stores cannot be dropped. */
    __asm__ __volatile__("" : : "r"(p) : "memory");
}
