package partition

import "os"

// slogWriter sends protoactor's warnings and errors to stderr.
type slogWriter struct{}

func (slogWriter) Write(b []byte) (int, error) { return os.Stderr.Write(b) }
