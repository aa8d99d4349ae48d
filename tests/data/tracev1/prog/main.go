// Command prog writes an execution trace of a small, busy Go program: an HTTP server on
// 127.0.0.1 streaming chunked responses to a few clients (network waits in the netpoller),
// channels, a mutex and a sync.Cond, syscalls, GC, a CPU-bound loop (preemption, CPU
// profile samples), and user tasks, regions and logs.
//
// Built with Go 1.19 / 1.21 it writes the old trace formats ("go 1.19 trace", "go 1.21
// trace"); tests/test_read_v1.py and benchmarks/bench_read_v1.py use it.
//
//	prog -o trace.out -d 200ms -w 2      # a small trace
//	prog -o big.out -d 20s -w 16 -pp 8   # a big one (-pp: channel ping-pong pairs)
package main

import (
	"context"
	"flag"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"runtime"
	"runtime/pprof"
	"runtime/trace"
	"sync"
	"time"
)

func main() {
	out := flag.String("o", "trace.out", "trace output")
	dur := flag.Duration("d", 500*time.Millisecond, "how long to run")
	workers := flag.Int("w", 8, "http clients")
	pingpong := flag.Int("pp", 0, "goroutine pairs playing channel ping-pong")
	flag.Parse()
	f, err := os.Create(*out)
	if err != nil {
		panic(err)
	}
	pf, _ := os.Create(os.DevNull)
	pprof.StartCPUProfile(pf)
	if err := trace.Start(f); err != nil {
		panic(err)
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		panic(err)
	}
	mux := http.NewServeMux()
	mux.HandleFunc("/stream", func(w http.ResponseWriter, r *http.Request) {
		ctx, task := trace.NewTask(r.Context(), "stream")
		defer task.End()
		for i := 0; i < 20; i++ {
			trace.WithRegion(ctx, "chunk", func() {
				fmt.Fprintf(w, "chunk %d %s\n", i, make([]byte, 512))
				if fl, ok := w.(http.Flusher); ok {
					fl.Flush()
				}
			})
			trace.Log(ctx, "progress", fmt.Sprint(i))
			time.Sleep(50 * time.Microsecond)
		}
	})
	srv := &http.Server{Handler: mux}
	go srv.Serve(ln)
	deadline := time.Now().Add(*dur)
	var wg sync.WaitGroup
	ch := make(chan []byte, 4)
	var mu sync.Mutex
	cond := sync.NewCond(&mu)
	for i := 0; i < *workers; i++ {
		wg.Add(1)
		go func(i int) {
			defer wg.Done()
			cl := &http.Client{}
			for time.Now().Before(deadline) {
				ctx, task := trace.NewTask(context.Background(), "client")
				req, _ := http.NewRequestWithContext(ctx, "GET", "http://"+ln.Addr().String()+"/stream", nil)
				resp, err := cl.Do(req)
				if err == nil {
					b, _ := io.ReadAll(resp.Body)
					resp.Body.Close()
					select {
					case ch <- b:
					default:
					}
				}
				task.End()
			}
		}(i)
	}
	// channel consumer + allocation to force GC
	go func() {
		var keep [][]byte
		for b := range ch {
			keep = append(keep, make([]byte, len(b)*10))
			if len(keep) > 100 {
				keep = nil
				runtime.GC()
			}
		}
	}()
	// cond + mutex + select + syscalls
	wg.Add(1)
	go func() {
		defer wg.Done()
		for time.Now().Before(deadline) {
			mu.Lock()
			cond.Broadcast()
			mu.Unlock()
			os.Stat("/etc/hostname")
			select {
			case <-time.After(100 * time.Microsecond):
			default:
				runtime.Gosched()
			}
		}
	}()
	go func() {
		mu.Lock()
		cond.Wait()
		mu.Unlock()
	}()
	// busy loop for preemption and CPU samples
	wg.Add(1)
	go func() {
		defer wg.Done()
		x := 0
		for time.Now().Before(deadline) {
			for i := 0; i < 1e6; i++ {
				x += i
			}
		}
		_ = x
	}()
	for i := 0; i < *pingpong; i++ {
		wg.Add(1)
		a, b := make(chan int), make(chan int)
		go func() {
			for v := range a {
				b <- v + 1
			}
			close(b)
		}()
		go func() {
			defer wg.Done()
			v := 0
			for n := 0; ; n++ {
				if n%1024 == 0 && !time.Now().Before(deadline) {
					break
				}
				a <- v
				v = <-b
			}
			close(a)
		}()
	}
	wg.Wait()
	srv.Close()
	trace.Stop()
	pprof.StopCPUProfile()
	f.Close()
}
