/* The dependency descriptor RTP header extension (AV1 RTP payload format, appendix A): what a
 * forwarder needs of it to choose layers. Each packet has its frame's template id, frame
 * number and start/end of frame bits; the template structure, sent with keyframes, gives each
 * template's spatial and temporal layer. The structure is kept by the caller (one per stream
 * received) and updated when a packet carries one.
 *
 * Does not parse decode target indications, frame diffs, chains or resolutions (a forwarder
 * that drops whole layers does not need them), nor write descriptors.
 * Sans-IO, no allocation: any thread, the structure has one owner. */
#ifndef SWITCHBOARD_DD_H
#define SWITCHBOARD_DD_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define SB_DD_MAX_TEMPLATES 64

/* The latest template structure of a stream. Zero it to start. */
typedef struct sb_dd_structure {
    bool valid;
    uint8_t id_offset; /* template_id_offset */
    uint8_t count;     /* TemplateCnt */
    uint8_t dt_count;  /* DtCnt: decode targets */
    uint8_t sid[SB_DD_MAX_TEMPLATES], tid[SB_DD_MAX_TEMPLATES];
} sb_dd_structure_t;

/* One packet's descriptor. */
typedef struct sb_dd_frame {
    bool start, end;     /* start_of_frame, end_of_frame */
    uint8_t template_id; /* frame_dependency_template_id */
    uint16_t frame_number;
    bool has_structure; /* the packet carried a template structure (now in *st) */
    uint8_t sid, tid;   /* the template's layers */
} sb_dd_frame_t;

/* Parse one packet's descriptor (len bytes of the extension's value), updating st when it
 * carries a structure. Returns 0; SB_EINVAL when truncated or malformed; SB_ENOENT when its
 * template is not in st (no structure seen yet, or an older one). */
int sb_dd_parse(const uint8_t *data, size_t len, sb_dd_structure_t *st, sb_dd_frame_t *out);

#endif
