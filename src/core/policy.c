/* Target policy (expiry, hardware model, region) and the anti-rollback counter. */
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include "fwseal/core.h"

/* Length of s when it is at most FWS_POLICY_MAX_NAME bytes, else FWS_POLICY_MAX_NAME + 1.
 * Reads at most FWS_POLICY_MAX_NAME + 1 bytes. */
static size_t name_len(const char *s)
{
    size_t n = 0;
    while (n <= FWS_POLICY_MAX_NAME && s[n] != '\0')
        n++;
    return n;
}

static bool name_ok(const char *s)
{
    size_t n = name_len(s);
    return n > 0 && n <= FWS_POLICY_MAX_NAME;
}

/* Exact match of a claimed name against the device's (already checked) name. A claimed name
 * longer than FWS_POLICY_MAX_NAME never matches; at most that many bytes plus one are read. */
static bool name_eq(const char *claimed, const char *mine)
{
    for (size_t i = 0; i <= FWS_POLICY_MAX_NAME; i++) {
        if (claimed[i] != mine[i])
            return false;
        if (claimed[i] == '\0')
            return true;
    }
    return false;
}

static bool list_ok(const char *const *list, size_t n)
{
    if (n > 0 && list == NULL)
        return false;
    for (size_t i = 0; i < n; i++) {
        if (list[i] == NULL)
            return false;
    }
    return true;
}

static bool list_has(const char *const *list, size_t n, const char *mine)
{
    for (size_t i = 0; i < n; i++) {
        if (name_eq(list[i], mine))
            return true;
    }
    return false;
}

static bool store_ok(const fws_counter_store *store, bool need_write)
{
    return store != NULL && store->read != NULL && (!need_write || store->write != NULL);
}

static bool args_ok(const fws_target_claims *target, const fws_device_facts *device)
{
    if (target == NULL || device == NULL)
        return false;
    if (target->n_hardware < 1 || target->n_hardware > FWS_POLICY_MAX_LIST ||
        !list_ok(target->hardware, target->n_hardware))
        return false;
    if (target->n_regions > FWS_POLICY_MAX_LIST || !list_ok(target->regions, target->n_regions))
        return false;
    if (device->hardware == NULL || !name_ok(device->hardware))
        return false;
    if (device->region != NULL && !name_ok(device->region))
        return false;
    return store_ok(device->counter, false);
}

static fws_err check_region(const fws_target_claims *target, const fws_device_facts *device)
{
    if (target->n_regions == 0)
        return FWS_OK;
    if (device->region == NULL)
        return FWS_ERR_REGION;
    return list_has(target->regions, target->n_regions, device->region) ? FWS_OK : FWS_ERR_REGION;
}

static fws_err check_counter(const fws_counter_store *store, uint64_t claimed)
{
    uint64_t stored = 0;
    fws_err err = store->read(store->ctx, &stored);
    if (err != FWS_OK)
        return err;
    return claimed < stored ? FWS_ERR_ROLLBACK : FWS_OK;
}

fws_err fws_policy_check(const fws_target_claims *target, const fws_device_facts *device)
{
    fws_err err;

    if (!args_ok(target, device))
        return FWS_ERR_ARG;
    if (!(device->trusted_time < target->expires))
        return FWS_ERR_EXPIRED;
    if (!list_has(target->hardware, target->n_hardware, device->hardware))
        return FWS_ERR_HARDWARE;
    err = check_region(target, device);
    if (err != FWS_OK)
        return err;
    return check_counter(device->counter, target->security_counter);
}

fws_err fws_counter_raise(const fws_counter_store *store, uint64_t value)
{
    uint64_t stored = 0;
    fws_err err;

    if (!store_ok(store, true))
        return FWS_ERR_ARG;
    err = store->read(store->ctx, &stored);
    if (err != FWS_OK)
        return err;
    if (value < stored)
        return FWS_ERR_ROLLBACK;
    if (value == stored)
        return FWS_OK;
    return store->write(store->ctx, value);
}
