package protocol

import (
	"encoding/binary"
	"errors"
	"fmt"
	"io"

	"google.golang.org/protobuf/proto"
)

// Errors returned by frame decoding.
var (
	ErrUnknownMessageType = errors.New("protocol: unknown message type")
	ErrFrameTooLarge      = errors.New("protocol: frame too large")
	ErrReservedBits       = errors.New("protocol: reserved header bits set")
)

// HeaderSize is the size of a frame header in bytes.
const HeaderSize = 8

// DefaultMaxFrameSize bounds the payload of one frame unless a Reader is configured otherwise.
const DefaultMaxFrameSize = 32 << 20

const (
	requestedAckBit = uint64(1) << 47
	reservedMask    = uint64(0x7FFF) << 32
)

// Frame is one message on the wire: its type, the REQUESTED_ACK flag and the protobuf payload.
type Frame struct {
	Type         MessageType
	RequestedAck bool
	Payload      []byte
}

// Message decodes the frame's payload.
func (f Frame) Message() (proto.Message, error) { return Decode(f.Type, f.Payload) }

// EncodeHeader returns the 8-byte header for a frame.
func EncodeHeader(t MessageType, requestedAck bool, length int) [HeaderSize]byte {
	h := uint64(t)<<48 | uint64(uint32(length))
	if requestedAck {
		h |= requestedAckBit
	}
	var b [HeaderSize]byte
	binary.BigEndian.PutUint64(b[:], h)
	return b
}

// DecodeHeader parses an 8-byte frame header.
func DecodeHeader(b [HeaderSize]byte) (t MessageType, requestedAck bool, length uint32, err error) {
	h := binary.BigEndian.Uint64(b[:])
	if h&reservedMask != 0 {
		return 0, false, 0, fmt.Errorf("%w: header 0x%016X", ErrReservedBits, h)
	}
	return MessageType(h >> 48), h&requestedAckBit != 0, uint32(h), nil
}

// AppendFrame appends the encoded frame to dst.
func AppendFrame(dst []byte, f Frame) []byte {
	h := EncodeHeader(f.Type, f.RequestedAck, len(f.Payload))
	dst = append(dst, h[:]...)
	return append(dst, f.Payload...)
}

// EncodeMessage marshals m into a frame.
func EncodeMessage(m proto.Message) (Frame, error) {
	t, err := TypeOf(m)
	if err != nil {
		return Frame{}, err
	}
	payload, err := proto.Marshal(m)
	if err != nil {
		return Frame{}, fmt.Errorf("protocol: encode %s: %w", t, err)
	}
	return Frame{Type: t, Payload: payload}, nil
}

// Reader reads frames from a byte stream.
type Reader struct {
	r            io.Reader
	MaxFrameSize uint32
}

// NewReader returns a Reader with DefaultMaxFrameSize.
func NewReader(r io.Reader) *Reader { return &Reader{r: r, MaxFrameSize: DefaultMaxFrameSize} }

// ReadFrame reads the next frame. It returns io.EOF at a clean end of stream and
// io.ErrUnexpectedEOF when the stream ends inside a frame. Unknown message types are returned
// as frames; callers decide whether to reject them.
func (r *Reader) ReadFrame() (Frame, error) {
	var hb [HeaderSize]byte
	if _, err := io.ReadFull(r.r, hb[:]); err != nil {
		return Frame{}, err
	}
	t, ack, n, err := DecodeHeader(hb)
	if err != nil {
		return Frame{}, err
	}
	if n > r.MaxFrameSize {
		return Frame{}, fmt.Errorf("%w: %s of %d bytes exceeds %d", ErrFrameTooLarge, t, n, r.MaxFrameSize)
	}
	payload := make([]byte, n)
	if _, err := io.ReadFull(r.r, payload); err != nil {
		if errors.Is(err, io.EOF) {
			err = io.ErrUnexpectedEOF
		}
		return Frame{}, fmt.Errorf("protocol: read %s payload: %w", t, err)
	}
	return Frame{Type: t, RequestedAck: ack, Payload: payload}, nil
}

// Writer writes frames to a byte stream, flushing after each one when the stream supports it.
type Writer struct {
	w   io.Writer
	buf []byte
}

// NewWriter returns a Writer over w.
func NewWriter(w io.Writer) *Writer { return &Writer{w: w} }

// WriteFrame writes one frame and flushes.
func (w *Writer) WriteFrame(f Frame) error {
	w.buf = AppendFrame(w.buf[:0], f)
	if _, err := w.w.Write(w.buf); err != nil {
		return fmt.Errorf("protocol: write %s: %w", f.Type, err)
	}
	if fl, ok := w.w.(interface{ Flush() }); ok {
		fl.Flush()
	}
	return nil
}

// WriteFrames writes several frames with one write (one HTTP/2 DATA frame where it fits) and
// flushes once.
func (w *Writer) WriteFrames(frames []Frame) error {
	w.buf = w.buf[:0]
	for _, f := range frames {
		w.buf = AppendFrame(w.buf, f)
	}
	if _, err := w.w.Write(w.buf); err != nil {
		return fmt.Errorf("protocol: write %d frames: %w", len(frames), err)
	}
	if fl, ok := w.w.(interface{ Flush() }); ok {
		fl.Flush()
	}
	return nil
}

// WriteMessage encodes and writes m.
func (w *Writer) WriteMessage(m proto.Message) error {
	f, err := EncodeMessage(m)
	if err != nil {
		return err
	}
	return w.WriteFrame(f)
}
