/* switchboard.plugin.p2pcall: internal interface between the plugin's files.
 * p2pcall.c: plugin ops, the message thread, the registry and the requests.
 * p2pcall_conf.c: the ICE servers handed to browsers (see there). */
#ifndef SB_PLUGINS_P2PCALL_H
#define SB_PLUGINS_P2PCALL_H

#include <jansson.h>

/* Main thread, at init. Reads the ICE servers for browsers from config_dir (may be NULL).
 * *ice_servers is always set to an owned JSON array (possibly empty). 0, or -1 when the
 * plugin's own file exists but is malformed (the plugin then refuses to load). */
int sb_p2pcall_conf_load(const char *config_dir, json_t **ice_servers);

#endif
