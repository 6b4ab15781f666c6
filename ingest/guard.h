#include <stdint.h>
#include <libavformat/avformat.h>

int sw_guard_install(AVFormatContext *s, uintptr_t handle, const char *proxy, void **out);
void sw_guard_free(void *p);
// sw_guard_of is the cgo.Handle of the guard of avcl, when avcl is a guarded
// AVFormatContext, else 0.
uintptr_t sw_guard_of(void *avcl);
