//! The load client of `benches/stream_fidelity.py`: keeps N streamed chat completions in flight on
//! N keep-alive connections and records when every content chunk arrived.
//!
//! ```text
//! fakeai-stream-client PORT STREAMS FIRST TOTAL START_AT DURATION STAGGER < request.http
//! ```
//!
//! Connection `k` sends its first request at `START_AT + STAGGER * (FIRST + k) / TOTAL` (monotonic
//! seconds, the clock of Python's `time.monotonic()`), and its next one as soon as a stream ends,
//! until `START_AT + DURATION`. One thread waits on all sockets with epoll; a chunk costs one
//! `recvmsg` and a substring count, and its arrival time is the kernel's receive timestamp
//! (`SO_TIMESTAMPNS`), so the client's own scheduling does not distort the gaps it reports.
//!
//! Prints one JSON object: the client's CPU seconds and wall time, and per stream (in send order
//! per connection) the send time and chunk arrival times in nanoseconds, plus `lags`: how long after
//! arrival the client read each chunk (a client falling behind would show here).

mod scan;

use scan::Scanner;
use std::io::{Read, Write};
use std::net::TcpStream;
use std::os::fd::AsRawFd;
use std::time::Duration;

const CONTENT: &[u8] = b"{\"content\":\"";
const END: &[u8] = b"data: [DONE]";

fn clock(id: libc::clockid_t) -> i64 {
    let mut ts = libc::timespec { tv_sec: 0, tv_nsec: 0 };
    // SAFETY: `ts` is a valid timespec to write into.
    unsafe { libc::clock_gettime(id, &mut ts) };
    ts.tv_sec * 1_000_000_000 + ts.tv_nsec
}

fn monotonic() -> i64 {
    clock(libc::CLOCK_MONOTONIC)
}

fn cpu_seconds() -> f64 {
    // SAFETY: an all-zero rusage is valid, and getrusage fills it.
    let mut usage: libc::rusage = unsafe { std::mem::zeroed() };
    unsafe { libc::getrusage(libc::RUSAGE_SELF, &mut usage) };
    let tv = |t: libc::timeval| t.tv_sec as f64 + t.tv_usec as f64 / 1e6;
    tv(usage.ru_utime) + tv(usage.ru_stime)
}

struct Stream {
    sent: i64,
    arrivals: Vec<i64>,
    lags: Vec<i64>,
}

struct Conn {
    socket: TcpStream,
    streams: Vec<Stream>,
    content: Scanner,
    end: Scanner,
    open: bool,
}

impl Conn {
    fn send(&mut self, request: &[u8]) {
        self.streams.push(Stream { sent: monotonic(), arrivals: Vec::with_capacity(80), lags: Vec::new() });
        self.content.reset();
        self.end.reset();
        if self.socket.write_all(request).is_err() {
            self.open = false;
        }
    }
}

/// Read what is waiting on `fd`: bytes read (0 at end of stream, -1 for nothing or an error) and
/// the kernel's arrival timestamp (realtime nanoseconds, 0 when absent).
fn receive(fd: i32, buf: &mut [u8]) -> (isize, i64) {
    let mut control = [0u64; 16];
    let mut iov = libc::iovec { iov_base: buf.as_mut_ptr().cast(), iov_len: buf.len() };
    // SAFETY: an all-zero msghdr is valid; its pointers are set to live buffers below.
    let mut msg: libc::msghdr = unsafe { std::mem::zeroed() };
    msg.msg_iov = &mut iov;
    msg.msg_iovlen = 1;
    msg.msg_control = control.as_mut_ptr().cast();
    msg.msg_controllen = std::mem::size_of_val(&control) as _;
    // SAFETY: `msg` points at `iov` (into `buf`) and `control`, both live for the call.
    let n = unsafe { libc::recvmsg(fd, &mut msg, libc::MSG_DONTWAIT) };
    let mut stamp = 0;
    if n > 0 {
        // SAFETY: the CMSG macros walk the control buffer the kernel just filled.
        unsafe {
            let mut cmsg = libc::CMSG_FIRSTHDR(&msg);
            while !cmsg.is_null() {
                if (*cmsg).cmsg_level == libc::SOL_SOCKET && (*cmsg).cmsg_type == libc::SCM_TIMESTAMPNS {
                    let ts = std::ptr::read_unaligned(libc::CMSG_DATA(cmsg) as *const libc::timespec);
                    stamp = ts.tv_sec * 1_000_000_000 + ts.tv_nsec;
                }
                cmsg = libc::CMSG_NXTHDR(&msg, cmsg);
            }
        }
    }
    (n, stamp)
}

/// Stop with a message (and exit status 1): the benchmark reports the level as failed.
fn fail(what: &str, error: std::io::Error) -> ! {
    eprintln!("fakeai-stream-client: {what}: {error}");
    std::process::exit(1)
}

fn arg<T: std::str::FromStr>(args: &[String], i: usize, name: &str) -> T {
    args.get(i).and_then(|a| a.parse().ok()).unwrap_or_else(|| {
        eprintln!("usage: fakeai-stream-client PORT STREAMS FIRST TOTAL START_AT DURATION STAGGER < request");
        eprintln!("bad or missing {name}");
        std::process::exit(2)
    })
}

fn main() {
    let args: Vec<String> = std::env::args().collect();
    let port: u16 = arg(&args, 1, "PORT");
    let streams: usize = arg(&args, 2, "STREAMS");
    let first: usize = arg(&args, 3, "FIRST");
    let total: usize = arg(&args, 4, "TOTAL");
    let start_at: f64 = arg(&args, 5, "START_AT");
    let duration: f64 = arg(&args, 6, "DURATION");
    let stagger: f64 = arg(&args, 7, "STAGGER");
    let mut request = Vec::new();
    if let Err(e) = std::io::stdin().read_to_end(&mut request) {
        fail("reading the request from stdin", e);
    }

    let realtime_offset = clock(libc::CLOCK_REALTIME) - monotonic();
    // SAFETY: plain epoll syscalls on descriptors this process owns.
    let epoll = unsafe { libc::epoll_create1(0) };
    assert!(epoll >= 0, "epoll_create1 failed");
    let mut conns = Vec::with_capacity(streams);
    for k in 0..streams {
        let socket = TcpStream::connect(("127.0.0.1", port))
            .and_then(|s| s.set_nodelay(true).and(s.set_nonblocking(true)).map(|()| s))
            .unwrap_or_else(|e| fail(&format!("connection {k} to 127.0.0.1:{port}"), e));
        let fd = socket.as_raw_fd();
        let on: libc::c_int = 1;
        let mut event = libc::epoll_event { events: libc::EPOLLIN as u32, u64: k as u64 };
        // SAFETY: `fd` is a live socket; `on` and `event` outlive the calls.
        unsafe {
            libc::setsockopt(
                fd,
                libc::SOL_SOCKET,
                libc::SO_TIMESTAMPNS,
                (&on as *const libc::c_int).cast(),
                std::mem::size_of::<libc::c_int>() as u32,
            );
            assert_eq!(libc::epoll_ctl(epoll, libc::EPOLL_CTL_ADD, fd, &mut event), 0, "epoll_ctl failed");
        }
        conns.push(Conn {
            socket,
            streams: Vec::new(),
            content: Scanner::new(CONTENT),
            end: Scanner::new(END),
            open: true,
        });
        if k % 200 == 199 {
            std::thread::sleep(Duration::from_millis(10)); // let the server accept in batches
        }
    }
    let start_ns = (start_at * 1e9) as i64;
    let end_ns = ((start_at + duration) * 1e9) as i64;
    let mut starts: Vec<(i64, usize)> = (0..streams)
        .map(|k| (start_ns + (stagger * 1e9 * (first + k) as f64 / total as f64) as i64, k))
        .collect();
    starts.reverse(); // earliest last, popped first
    let wait = start_ns - monotonic();
    if wait > 0 {
        std::thread::sleep(Duration::from_nanos(wait as u64));
    }
    let cpu0 = cpu_seconds();
    let wall0 = monotonic();
    let mut open = conns.len();
    let mut buf = vec![0u8; 1 << 16];
    let mut events = vec![libc::epoll_event { events: 0, u64: 0 }; 1024];
    while open > 0 && monotonic() < end_ns + 60_000_000_000 {
        let now = monotonic();
        while starts.last().is_some_and(|&(at, _)| at <= now) {
            let (_, k) = starts.pop().unwrap_or_default();
            conns[k].send(&request);
        }
        let timeout_ms = starts.last().map_or(100, |&(at, _)| ((at - now) / 1_000_000).clamp(0, 100)) as i32;
        // SAFETY: `events` has room for `len` entries.
        let ready = unsafe { libc::epoll_wait(epoll, events.as_mut_ptr(), events.len() as i32, timeout_ms) };
        for event in events.iter().take(ready.max(0) as usize) {
            let c = &mut conns[event.u64 as usize];
            let (n, stamp) = receive(c.socket.as_raw_fd(), &mut buf);
            let read_at = monotonic();
            if n < 0 {
                continue;
            }
            if n == 0 || !c.open {
                // SAFETY: removing a registered descriptor.
                unsafe {
                    libc::epoll_ctl(epoll, libc::EPOLL_CTL_DEL, c.socket.as_raw_fd(), std::ptr::null_mut())
                };
                c.open = false;
                open -= 1;
                continue;
            }
            let data = &buf[..n as usize];
            let arrived = if stamp > 0 { stamp - realtime_offset } else { read_at };
            let chunks = c.content.count(data);
            let ended = c.end.count(data) > 0;
            if let Some(s) = c.streams.last_mut() {
                for _ in 0..chunks {
                    s.arrivals.push(arrived);
                    s.lags.push(read_at - arrived);
                }
            }
            if ended {
                if read_at < end_ns {
                    c.send(&request);
                } else {
                    // SAFETY: removing a registered descriptor.
                    unsafe {
                        libc::epoll_ctl(
                            epoll,
                            libc::EPOLL_CTL_DEL,
                            c.socket.as_raw_fd(),
                            std::ptr::null_mut(),
                        )
                    };
                    c.open = false;
                    open -= 1;
                }
            }
        }
    }
    let cpu = cpu_seconds() - cpu0;
    let wall = (monotonic() - wall0) as f64 / 1e9;
    let mut out = std::io::BufWriter::new(std::io::stdout().lock());
    let list = |v: &[i64]| v.iter().map(i64::to_string).collect::<Vec<_>>().join(",");
    write!(out, "{{\"cpu\":{cpu},\"wall\":{wall},\"streams\":[").unwrap_or(());
    let mut firstitem = true;
    for c in &conns {
        for s in &c.streams {
            let sep = if firstitem { "" } else { "," };
            firstitem = false;
            write!(out, "{sep}[{},[{}],[{}]]", s.sent, list(&s.arrivals), list(&s.lags)).unwrap_or(());
        }
    }
    writeln!(out, "]}}").unwrap_or(());
}
