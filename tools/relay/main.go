// Command relay copies bytes between each accepted TCP connection and a new
// connection to a target, both ways, and does nothing else: no parsing, no
// routing, no TLS. scripts/bench.sh puts it between the load generator and
// a plugin's port to measure what any extra process on the request path
// costs on the machine at hand, the floor under the gateway's own cost.
//
//	relay -listen 127.0.0.1:0 -to 127.0.0.1:50012
//
// It prints "listening ADDR" once it accepts connections.
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"net"
	"os"
	"os/signal"
	"sync"
	"syscall"
	"time"
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	if err := run(ctx, os.Args[1:], os.Stdout); err != nil {
		fmt.Fprintln(os.Stderr, "relay:", err)
		os.Exit(2)
	}
}

func run(ctx context.Context, args []string, stdout io.Writer) error {
	fs := flag.NewFlagSet("relay", flag.ContinueOnError)
	listen := fs.String("listen", "127.0.0.1:0", "address to accept connections on")
	to := fs.String("to", "", "address to relay each connection to (required)")
	if err := fs.Parse(args); err != nil {
		return err
	}
	if *to == "" || fs.NArg() > 0 {
		return errors.New("usage: relay -listen ADDR -to ADDR")
	}
	ln, err := net.Listen("tcp", *listen)
	if err != nil {
		return err
	}
	fmt.Fprintln(stdout, "listening", ln.Addr())
	return serve(ctx, ln, *to)
}

// serve relays every connection accepted on ln to target until ctx ends.
func serve(ctx context.Context, ln net.Listener, target string) error {
	var wg sync.WaitGroup
	defer wg.Wait()
	stop := context.AfterFunc(ctx, func() { ln.Close() })
	defer stop()
	for {
		c, err := ln.Accept()
		if err != nil {
			if ctx.Err() != nil {
				return nil
			}
			var ne net.Error
			if errors.As(err, &ne) && ne.Timeout() {
				time.Sleep(10 * time.Millisecond)
				continue
			}
			return err
		}
		wg.Add(1)
		go func() {
			defer wg.Done()
			relay(ctx, c, target)
		}()
	}
}

// relay copies both ways until both directions end; a direction's end is
// passed on as a half close, so a peer waiting for EOF sees it.
func relay(ctx context.Context, c net.Conn, target string) {
	defer c.Close()
	var d net.Dialer
	u, err := d.DialContext(ctx, "tcp", target)
	if err != nil {
		return
	}
	defer u.Close()
	stop := context.AfterFunc(ctx, func() { c.Close(); u.Close() })
	defer stop()
	done := make(chan struct{})
	go func() {
		copyHalf(u, c)
		close(done)
	}()
	copyHalf(c, u)
	<-done
}

// copyHalf copies src to dst through a buffer: plain reads and writes, the
// cheapest copy for small messages (io.Copy between two TCP connections
// splices through a pipe, two system calls more per message).
func copyHalf(dst, src net.Conn) {
	buf := make([]byte, 32<<10)
	var err error
	for {
		n, rerr := src.Read(buf)
		if n > 0 {
			if _, werr := dst.Write(buf[:n]); werr != nil {
				err = werr
				break
			}
		}
		if rerr != nil {
			if rerr != io.EOF {
				err = rerr
			}
			break
		}
	}
	if cw, ok := dst.(interface{ CloseWrite() error }); ok && err == nil {
		cw.CloseWrite()
		return
	}
	dst.Close()
	src.Close()
}
