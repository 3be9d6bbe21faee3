/* Plugin loader: dlopen every *.so of a folder, check the ABI, init, and look plugins up
 * by wire name. Main thread loads and unloads; lookups are read-only afterwards, so any
 * thread may call sb_plugins_find/sb_plugins_info. */
#ifndef SB_PLUGIN_LOADER_H
#define SB_PLUGIN_LOADER_H

#include <jansson.h>

#include "switchboard/plugin.h"

/* Load every plugin of folder; config_dir is passed to each init. Returns the number of
 * plugins loaded (a missing folder is 0, with a warning). */
int sb_plugins_load(const char *folder, const char *config_dir);
/* Register a plugin linked into the process (tests). Calls init. */
int sb_plugins_add(const sb_plugin_t *plugin, const char *config_dir);
/* Borrowed, or NULL when no plugin has that package name. */
const sb_plugin_t *sb_plugins_find(const char *package);
/* {"<package>": {name, author, description, version_string, version}, ...}: owned. */
json_t *sb_plugins_info(void);
/* Calls fn for every loaded plugin, in load order. Any thread, after loading. */
void sb_plugins_each(void (*fn)(void *ctx, const sb_plugin_t *p), void *ctx);
/* deinit and dlclose every plugin. Call after all sessions are gone. */
void sb_plugins_unload(void);

/* The callback table handed to every plugin's init (core_api.c). */
const sb_core_api_t *sb_core_api(void);

#endif
