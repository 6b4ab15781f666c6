#include <setjmp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <jpeglib.h>

#include "jpegenc.h"

// An error of libjpeg ends its call through longjmp instead of exit().
typedef struct {
	struct jpeg_error_mgr pub;
	jmp_buf jump;
	char msg[JMSG_LENGTH_MAX];
} sw_jpeg_error;

static void sw_jpeg_error_exit(j_common_ptr c) {
	sw_jpeg_error *e = (sw_jpeg_error *)c->err;
	(*c->err->format_message)(c, e->msg);
	longjmp(e->jump, 1);
}

// Warnings (corrupt input cannot happen when compressing) are not printed.
static void sw_jpeg_output_message(j_common_ptr c) { (void)c; }

int sw_jpeg_encode(const unsigned char *pix, int width, int height, int stride, int rgba, int quality,
                   unsigned char **out, unsigned long *out_len, char *msg, int msg_len) {
	struct jpeg_compress_struct ci;
	sw_jpeg_error err;
	memset(&ci, 0, sizeof ci);
	*out = NULL;
	*out_len = 0;
	ci.err = jpeg_std_error(&err.pub);
	err.pub.error_exit = sw_jpeg_error_exit;
	err.pub.output_message = sw_jpeg_output_message;
	if (setjmp(err.jump)) {
		snprintf(msg, (size_t)msg_len, "%s", err.msg);
		jpeg_destroy_compress(&ci);
		free(*out);
		*out = NULL;
		*out_len = 0;
		return -1;
	}
	jpeg_create_compress(&ci);
	jpeg_mem_dest(&ci, out, out_len);
	ci.image_width = (JDIMENSION)width;
	ci.image_height = (JDIMENSION)height;
	if (rgba) {
		ci.input_components = 4;
		ci.in_color_space = JCS_EXT_RGBA;
	} else {
		ci.input_components = 1;
		ci.in_color_space = JCS_GRAYSCALE;
	}
	jpeg_set_defaults(&ci);
	jpeg_set_quality(&ci, quality, TRUE);
	jpeg_start_compress(&ci, TRUE);
	while (ci.next_scanline < ci.image_height) {
		JSAMPROW row = (JSAMPROW)(pix + (size_t)ci.next_scanline * (size_t)stride);
		jpeg_write_scanlines(&ci, &row, 1);
	}
	jpeg_finish_compress(&ci);
	jpeg_destroy_compress(&ci);
	return 0;
}
