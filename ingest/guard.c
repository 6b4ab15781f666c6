#include <errno.h>
#include <stdint.h>
#include <libavformat/avformat.h>
#include <libavutil/dict.h>
#include <libavutil/mem.h>
#include "_cgo_export.h"
#include "guard.h"

#define SW_GUARD_MAGIC 0x73776764u

typedef int (*sw_io_open_fn)(struct AVFormatContext *s, AVIOContext **pb, const char *url, int flags,
                             AVDictionary **options);

// sw_guard is what the io_open hook of one input needs: the cgo.Handle of
// its Go guard, the proxy URL to hand to http and tls, and libav's own io_open.
struct sw_guard {
	uint32_t magic;
	uintptr_t handle;
	char *proxy;
	sw_io_open_fn next;
};

// sw_io_open asks the Go guard about every URL libav opens for the input (the
// input itself, playlists, segments, keys) and routes http and https through
// the proxy. A context that copied our io_open without our opaque is refused.
static int sw_io_open(struct AVFormatContext *s, AVIOContext **pb, const char *url, int flags,
                      AVDictionary **options) {
	struct sw_guard *g = s->opaque;
	if (!g || g->magic != SW_GUARD_MAGIC || !url) return AVERROR(EPERM);
	int verdict = swCheckOpen(g->handle, (char *)url);
	if (verdict < 0) return AVERROR(EPERM);
	if (verdict == 0) return g->next(s, pb, url, flags, options);
	AVDictionary *local = NULL;
	AVDictionary **opts = options ? options : &local;
	int err = av_dict_set(opts, "http_proxy", g->proxy, 0);
	if (err >= 0) err = g->next(s, pb, url, flags, opts);
	av_dict_free(&local);
	return err;
}

int sw_guard_install(AVFormatContext *s, uintptr_t handle, const char *proxy, void **out) {
	// The Go side reads the AVFormatContext pointer out of go-astiav's wrapper:
	// make sure it is one before writing into it.
	if (!s || *(const AVClass **)s != avformat_get_class() || s->opaque) return AVERROR(EINVAL);
	struct sw_guard *g = av_mallocz(sizeof *g);
	if (!g) return AVERROR(ENOMEM);
	g->proxy = av_strdup(proxy);
	if (!g->proxy) {
		av_free(g);
		return AVERROR(ENOMEM);
	}
	g->magic = SW_GUARD_MAGIC;
	g->handle = handle;
	g->next = s->io_open;
	s->opaque = g;
	s->io_open = sw_io_open;
	*out = g;
	return 0;
}

void sw_guard_free(void *p) {
	struct sw_guard *g = p;
	if (!g) return;
	g->magic = 0;
	av_free(g->proxy);
	av_free(g);
}

uintptr_t sw_guard_of(void *avcl) {
	if (!avcl || *(const AVClass **)avcl != avformat_get_class()) return 0;
	AVFormatContext *s = avcl;
	if (s->io_open != sw_io_open) return 0;
	struct sw_guard *g = s->opaque;
	if (!g || g->magic != SW_GUARD_MAGIC) return 0;
	return g->handle;
}
