// Package stderr keeps a process's own writes to standard error flowing
// while C code points file descriptor 2 elsewhere.
//
// gosseract sends descriptor 2 to /dev/null while a Tesseract client
// initialises (its Init, in tessbridge.cpp, freopens stderr and dup2s the
// original back afterwards). The OCR pool initialises each client on its
// first read, while streams run and their logs and alert lines are written
// to os.Stderr: whatever was written in those ~100 ms was lost.
package stderr

import (
	"os"
	"syscall"
)

// Keep points os.Stderr at a duplicate of file descriptor 2, which C code
// leaves alone; what C code writes to descriptor 2 goes where it always
// did. Call it first in main, before anything holds os.Stderr. On failure
// os.Stderr stays as it is.
func Keep() {
	fd, err := syscall.Dup(int(os.Stderr.Fd()))
	if err != nil {
		return
	}
	syscall.CloseOnExec(fd)
	os.Stderr = os.NewFile(uintptr(fd), "/dev/stderr")
}
