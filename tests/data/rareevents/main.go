// Command rareevents writes an execution trace (to the path in its first argument) with what the
// fixture servers never do: CPU profile samples, coroutine switches (iter.Pull: GoCreateBlocked,
// GoSwitch, GoSwitchDestroy) and, under GODEBUG=traceallocfree=1, the experimental alloc/free
// events; tests/test_read_fast.py builds it with the newest toolchain and compares the columns.
package main

import (
	"context"
	"iter"
	"os"
	"runtime"
	"runtime/pprof"
	"runtime/trace"
	"sync"
	"time"
)

func main() {
	f, _ := os.Create(os.Args[1])
	defer f.Close()
	pf, _ := os.Create(os.DevNull)
	pprof.StartCPUProfile(pf) // CPU samples
	trace.Start(f)
	seq := func(yield func(int) bool) {
		for i := 0; i < 100; i++ {
			if !yield(i) {
				return
			}
		}
	}
	for k := 0; k < 40; k++ { // coroutines: GoCreateBlocked, GoSwitch, GoSwitchDestroy
		next, stop := iter.Pull(seq)
		for j := 0; j < 20; j++ {
			next()
		}
		if k%2 == 0 {
			stop()
		} else {
			for _, ok := next(); ok; _, ok = next() {
			}
		}
	}
	deadline := time.Now().Add(1200 * time.Millisecond) // two generations or more
	for round := 0; time.Now().Before(deadline); round++ {
		ctx, task := trace.NewTask(context.Background(), "round")
		var wg sync.WaitGroup
		for i := 0; i < 4; i++ {
			wg.Add(1)
			go func() {
				defer wg.Done()
				trace.WithRegion(ctx, "burn", func() {
					var local [][]byte
					for t := time.Now(); time.Since(t) < 30*time.Millisecond; {
						local = append(local, make([]byte, 512))
						if len(local) > 4000 {
							local = nil
						}
					}
					runtime.KeepAlive(local)
					trace.Log(ctx, "burned", "yes")
				})
			}()
		}
		wg.Wait()
		task.End()
		if round%4 == 0 {
			runtime.GC()
		}
	}
	trace.Stop()
	pprof.StopCPUProfile()
}
