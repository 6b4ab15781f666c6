package wheptest

import (
	"bytes"
	"errors"
	"fmt"

	"github.com/pion/webrtc/v4/pkg/media/h264reader"
)

// ErrNoAccessUnits is returned by AccessUnits for data without a coded slice.
var ErrNoAccessUnits = errors.New("wheptest: no H.264 access units")

// AccessUnits splits H.264 Annex B data (as ffmpeg -f h264 writes it) into
// access units, each with its start codes, ready for an RTP packetizer: the
// parameter sets go with the slice that follows them.
func AccessUnits(data []byte) ([][]byte, error) {
	r, err := h264reader.NewReader(bytes.NewReader(data))
	if err != nil {
		return nil, fmt.Errorf("wheptest: %w", err)
	}
	var units [][]byte
	var au []byte
	for {
		nal, err := r.NextNAL()
		if err != nil {
			break // io.EOF, or a truncated last unit: what came before stands
		}
		au = append(au, 0, 0, 0, 1)
		au = append(au, nal.Data...)
		if nal.UnitType == h264reader.NalUnitTypeCodedSliceNonIdr || nal.UnitType == h264reader.NalUnitTypeCodedSliceIdr {
			units, au = append(units, au), nil
		}
	}
	if len(units) == 0 {
		return nil, ErrNoAccessUnits
	}
	return units, nil
}
