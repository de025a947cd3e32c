package casregistry

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"strconv"
	"time"

	"google.golang.org/grpc"
)

// ServeConfig says where Serve listens.
type ServeConfig struct {
	// Address is the host or IP address to listen on.
	Address string
	// Port is the HTTP port of the registry; 0 picks a free one.
	Port int
	// BlobCache serves the Blobs.Commit gRPC service on GRPCPort (0 picks a
	// free one).
	BlobCache bool
	GRPCPort  int
	// Log receives the lines that say where Serve listens.
	Log io.Writer
}

// shutdownTimeout bounds the graceful shutdown of Serve.
const shutdownTimeout = 10 * time.Second

// Serve serves the registry over HTTP, and with c.BlobCache the Blobs.Commit
// gRPC service, until ctx ends; then it stops both gracefully, waiting up to
// 10 s for running requests. Once listening it writes
//
//	registry: listening on http://ADDR:PORT
//	registry: blob cache (Commit) on grpc://ADDR:GRPCPORT
//
// to c.Log (the second line only with c.BlobCache). It returns nil after a
// clean shutdown.
func (r *Registry) Serve(ctx context.Context, c ServeConfig) error {
	log := c.Log
	if log == nil {
		log = io.Discard
	}
	httpLis, err := net.Listen("tcp", net.JoinHostPort(c.Address, strconv.Itoa(c.Port)))
	if err != nil {
		return err
	}
	srv := &http.Server{Handler: r.Handler(), ReadHeaderTimeout: time.Minute}
	errc := make(chan error, 2)
	go func() { errc <- srv.Serve(httpLis) }()
	fmt.Fprintf(log, "registry: listening on http://%s\n", hostPort(c.Address, httpLis))

	var gs *grpc.Server
	if c.BlobCache {
		grpcLis, err := net.Listen("tcp", net.JoinHostPort(c.Address, strconv.Itoa(c.GRPCPort)))
		if err != nil {
			srv.Close()
			return err
		}
		gs = grpc.NewServer()
		r.RegisterGRPC(gs)
		go func() { errc <- gs.Serve(grpcLis) }()
		fmt.Fprintf(log, "registry: blob cache (Commit) on grpc://%s\n", hostPort(c.Address, grpcLis))
	}

	select {
	case err = <-errc:
	case <-ctx.Done():
	}
	shutdown, cancel := context.WithTimeout(context.Background(), shutdownTimeout)
	defer cancel()
	if gs != nil {
		go func() { <-shutdown.Done(); gs.Stop() }()
		gs.GracefulStop()
	}
	if serr := srv.Shutdown(shutdown); err == nil {
		err = serr
	}
	if errors.Is(err, http.ErrServerClosed) {
		err = nil
	}
	return err
}

// hostPort is address with the port that l listens on.
func hostPort(address string, l net.Listener) string {
	return net.JoinHostPort(address, strconv.Itoa(l.Addr().(*net.TCPAddr).Port))
}
