// Package frames chooses which decoded frames to read (Sampler), copies them
// out of C memory into Go images (GrayConverter), turns them upright as their
// display matrix asks (Upright) and hands them on, as
// Sampled values, through a bounded queue that never blocks a live source
// (Queue). It owns nothing of what is read in a frame: the line-reading stage
// (package lines) takes a frame's image and hands back its own results.
package frames
