package bes

import (
	"context"
	"fmt"
	"io"
	"net"
	"strconv"
	"time"

	"google.golang.org/grpc"
)

// ShutdownTimeout bounds the wait of ListenAndServe for streams and pushes
// once its context ends.
const ShutdownTimeout = 30 * time.Second

// ListenAndServe serves s over gRPC on address:port (port "0" picks a free
// one) until ctx ends. It writes "bes: listening on HOST:PORT" to log once
// it accepts streams, and "bes: stopping" when ctx ends; then it lets the
// running streams finish and waits for the pushes (see Shutdown), up to
// ShutdownTimeout in all.
func (s *Server) ListenAndServe(ctx context.Context, address, port string, log io.Writer) error {
	if log == nil {
		log = io.Discard
	}
	lis, err := net.Listen("tcp", net.JoinHostPort(address, port))
	if err != nil {
		s.cancel()
		return err
	}
	g := grpc.NewServer()
	s.Register(g)
	served := make(chan error, 1)
	go func() { served <- g.Serve(lis) }()
	fmt.Fprintf(log, "bes: listening on %s\n", net.JoinHostPort(address, strconv.Itoa(lis.Addr().(*net.TCPAddr).Port)))
	select {
	case err := <-served:
		return err
	case <-ctx.Done():
	}
	fmt.Fprintln(log, "bes: stopping")
	sctx, cancel := context.WithTimeout(context.Background(), ShutdownTimeout)
	defer cancel()
	stopped := make(chan struct{})
	go func() { g.GracefulStop(); close(stopped) }()
	select {
	case <-stopped:
	case <-sctx.Done():
		g.Stop()
	}
	return s.Shutdown(sctx)
}
