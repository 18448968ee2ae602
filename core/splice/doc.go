// Package splice relays bytes between two TCP sockets with splice(2):
// through a pipe owned by each copy for neosocksd's --pipe option (Copy,
// CopyProgress), and through pipes lent per burst for the default relay
// (CopyBursts).
//
// Copy moves one direction until EOF; the caller runs one Copy per
// direction and propagates EOF with CloseWrite. CopyProgress also reports
// the bytes as they go, for byte counters. CopyBursts does the same but
// holds no pipe and no buffer while the source is idle, and copies small
// bursts through a buffer (see its documentation). The package must not close,
// half-close or otherwise change the sockets it is given, log, or keep
// state beyond the idle pipes of its pool.
//
// # How it works
//
// Every splice runs inside a syscall.RawConn callback (Read on src, Write
// on dst), so the sockets stay under the Go netpoller: EAGAIN parks the
// goroutine instead of an OS thread, and deadlines and Close from another
// goroutine work as they do for Read and Write. The loop is lock step:
// splice src → pipe only into an empty pipe, then pipe → dst until the
// pipe is empty. With the netpoller's edge-triggered epoll that keeps
// EAGAIN unambiguous (an empty pipe cannot be full, so EAGAIN on a fill
// means src is empty and a readiness edge will come). While Copy waits
// for dst, the kernel keeps filling src's receive buffer, which on
// loopback autotunes to megabytes, so lock step does not stall the
// sender. Flags are SPLICE_F_MOVE|SPLICE_F_NONBLOCK; a fill asks for the
// whole pipe, a drain for everything in it.
//
// Pipes: one per direction, so an active tunnel holds 6 descriptors (2
// sockets, 2 pipes), as neosocksd --pipe does. Empty pipes go back to an
// explicit free list of at most DefaultPoolSize (SetPoolSize) pipes;
// a pipe still holding bytes after an error is closed. Unlike a sync.Pool
// with finalizers (the runtime's own choice), the descriptors in use are
// bounded by 2 × (running copies + pool bound) and never wait for a GC.
// Release closes the idle ones. Pipes are sized with F_SETPIPE_SZ to
// DefaultPipeSize, 1 MiB (SetPipeSize); when the kernel refuses a size it
// tries a quarter of it down to the default 64 KiB. An unprivileged user
// has a pipe budget (/proc/sys/fs/pipe-user-pages-soft, 64 MiB by
// default: 32 tunnels of 1 MiB pipes, counting the idle ones); past it
// pipes come out at 1-2 pages and Copy falls back to a plain buffered
// copy rather than splice a page at a time. A proxy that must carry more
// spliced tunnels as an unprivileged user should raise that sysctl or
// lower the pipe size.
//
// # Measurements
//
// Two cores shared by sender, relay and receiver (and by other work, so
// MB/s swings by ±30% between runs; CPU per GB is steadier). The child
// process benchmark runs the relay alone in a child process and reads its
// CPU time and context switches from getrusage; both directions are
// relayed like the proxy does, data flows client → sink, 1 GiB per run:
//
//	go test -run='^$' -bench=RelayProcess -benchtime=8192x -count=6 ./core/splice
//
// Relay CPU ms per GB and context switches per GB, medians of 6
// interleaved runs (1 stream / 8 streams):
//
//	Copy, 1 MiB pipe (default)   180 / 122 ms    2715 / 1880 csw
//	io.Copy (runtime splice)     184 / 118 ms    3448 / 1745 csw
//	Copy, 256 KiB pipe           225 / 179 ms    2932 / 2199 csw
//	Copy, 64 KiB pipe            283 / 275 ms    3985 / 2690 csw
//
// System calls of the relay per GiB, strace -f -c (1 stream / 8 streams;
// strace slows the relay, so more bytes wait per wake-up than without it):
//
//	go test -c ./core/splice && SPLICE_RELAY_WRAP="strace -f -c -o relay.strace" \
//	    ./splice.test -test.run='^$' -test.bench='RelayProcess/^splice$/^streams=8$' -test.benchtime=8192x
//
//	                 splice (EAGAIN)         epoll_pwait   futex     nanosleep
//	Copy 1 MiB       2596 (232) / 2657 (255)  1760 / 1232   447 / 414  1458 / 964
//	io.Copy          2710 (270) / 2280 (88)   2709 / 121    446 / 246  1250 / 569
//	Copy 256 KiB     8610 (92)  / 8326 (50)   5615 / 196    595 / 566  2988 / 1930
//	Copy 64 KiB     37884 (10)  / 41363 (15) 13063 / 317    320 / 819 12413 / 7974
//
// perf stat on the relay (SPLICE_RELAY_WRAP="perf stat -o relay.perf",
// 8 streams, 1 GiB, 3 runs): Copy 103-144 ms task-clock of which user
// 2-10 ms; io.Copy 103-141 ms, user 0-22 ms; Copy with 64 KiB pipes
// 258-287 ms. perf record shows the system time in the loopback TCP
// path (tcp_sendmsg, softirq receive of the peer, skb splicing).
//
// In-process comparison on the same sockets (sender and receiver in the
// benchmark process, so CPU includes their copies; 0 allocs/op for both):
//
//	go test -run='^$' -bench='^BenchmarkRelay$' -benchmem -benchtime=4096x ./core/splice
//	go test -run='^$' -bench=PipeSize -benchtime=4096x ./core/splice
//
// Through the shared loopback harness (rawrelay against the same
// forwarder with Copy in place of io.Copy, --protos raw --phases bulk,
// interleaved rounds), the ratios Copy/io.Copy were, in two runs of 4 and
// 6 rounds: bulk_up_1 1.19 and 0.80, bulk_down_1 0.98 and 0.98,
// bulk_down_8 1.07 and 0.89; relay CPU per GB 0.99-1.16 and 0.93-0.99.
// Both systems had single rounds at a third of their usual rate with the
// relay idle, which is the machine, not the relay.
//
// # Where this stands against neosocksd --pipe
//
// neosocksd --pipe (by reading its source) uses the same lock step per
// direction, 256 KiB pipes kept in a cache, SPLICE_F_NONBLOCK only, and
// level-triggered libev on one I/O thread for all tunnels. The splice
// calls are not where it wins: relay CPU is over 90% kernel TCP work, the
// same for any splice loop, and with 256 KiB pipes it makes 3× the calls
// of Go's 1 MiB ones. What differs is the cost of a round (fill, drain,
// the EAGAIN that ends it, the wait, the wake-up). In Go, going from
// 256 KiB to 1 MiB pipes saves 45-57 ms per GB for about 3000 fewer
// rounds per GiB (from the strace counts), some 15-20 µs a round, nearly
// all of it system time spent parking, waking and switching threads
// (futex hand-offs between Ms and spinning Ps, the futex and nanosleep
// rows above). neosocksd does 4× the rounds and still measured 0.29 s/GB
// against rawrelay's 0.33, so its rounds are far cheaper: one thread,
// one epoll_wait returning every ready tunnel, no hand-off. Part of the
// hand-off was ours to remove: made through the runtime (unix.Splice), a
// splice that holds its processor through a scheduler tick makes the
// runtime give that processor to another thread when none is idle, and
// the splicing thread then waits to get one back. The copy loops now make
// their non-blocking calls raw (raw_linux.go), which with the daemon's
// GOMAXPROCS=1 gave the default relay (CopyBursts) 1.15-1.30x the
// throughput on one tunnel at 0.62-0.65x the CPU per GB. Against rawrelay (run.sh -r 3 --phases bulk, the daemon
// with --pipe): one tunnel 1.13x up and 1.05x down at 0.77x and 0.62x
// rawrelay's CPU per GB; eight tunnels 1.03x at 1.23x its CPU per GB, with
// the two cores saturated by sender, receiver and relay together, and the
// relay on one processor serving the ready tunnels one after the other.
// The 1.4x that the C original's --pipe reaches over rawrelay is not
// reached here, and not by a single-threaded C epoll loop either: written
// for the comparison, splicing in the same lock step through 1 MiB pipes,
// it measured 0.86x rawrelay on eight tunnels (README, Performance). What Copy adds over io.Copy is control: pipe size and
// pool bound, a bounded descriptor count, byte progress without leaving
// splice, and a buffered fallback when pipes run out.
package splice
