/* State the SDK's helpers share inside one plugin (never exported: the SDK archive is built
 * with hidden visibility). */
#ifndef SB_SDK_INTERNAL_H
#define SB_SDK_INTERNAL_H

#include "switchboard/plugin.h"

/* The daemon's table, NULL until sb_sdk_bind. */
extern const sb_core_api_t *sb_sdk_core;

#endif
