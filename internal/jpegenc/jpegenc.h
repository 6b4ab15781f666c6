#ifndef SW_JPEGENC_H
#define SW_JPEGENC_H

// sw_jpeg_encode compresses width x height pixels (RGBA when rgba, else
// gray), rows stride bytes apart, at quality into a malloc'd *out of
// *out_len bytes (the caller frees it). It returns 0, or -1 with libjpeg's
// message in msg.
int sw_jpeg_encode(const unsigned char *pix, int width, int height, int stride, int rgba, int quality,
                   unsigned char **out, unsigned long *out_len, char *msg, int msg_len);

#endif
