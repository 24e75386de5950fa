//! Work spread over the cores, handed back in order: one thread makes the inputs in turn (a
//! scan that must run in order), `threads` threads work on them side by side, and the caller
//! takes the results in the order the inputs were made. At most `2 × threads` inputs are in
//! flight, so memory stays bounded however uneven the work.

use std::collections::BTreeMap;
use std::panic::{catch_unwind, AssertUnwindSafe};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::mpsc::{channel, sync_channel, Receiver, SyncSender};
use std::sync::{Arc, Mutex};
use std::thread::{self, JoinHandle};

/// Threads for one task: the cores this process may use (its cgroup's quota included), at
/// most 8.
pub fn threads() -> usize {
    thread::available_parallelism().map_or(1, |n| n.get()).min(8)
}

/// A result that never came: its worker (or the producer) panicked.
#[derive(Debug)]
pub struct Panicked;

pub struct Ordered<O> {
    /// A single input, worked on in the caller's thread when asked for (no threads started).
    here: Option<Box<dyn FnOnce() -> O + Send>>,
    threads: Option<Threads<O>>,
}

struct Threads<O> {
    results: Receiver<(u64, thread::Result<O>)>,
    tokens: SyncSender<()>,
    stop: Arc<AtomicBool>,
    waiting: BTreeMap<u64, thread::Result<O>>,
    next: u64,
    producer: Option<JoinHandle<()>>,
}

/// Run `produce` on a thread named `name` until it returns None, and `work` on each input on
/// `threads` threads. Dropping the iterator stops both at their next input. The first two
/// inputs are made here: when there is only one (a small file), no thread is started at all.
pub fn ordered<I, O>(
    name: &str,
    threads: usize,
    mut produce: impl FnMut() -> Option<I> + Send + 'static,
    work: impl Fn(I) -> O + Send + Sync + 'static,
) -> std::io::Result<Ordered<O>>
where
    I: Send + 'static,
    O: Send + 'static,
{
    let first = produce();
    let second = if first.is_some() { produce() } else { None };
    let (first, second) = match (first, second) {
        (Some(first), Some(second)) => (first, second),
        (first, _) => {
            let here = first.map(|input| Box::new(move || work(input)) as Box<dyn FnOnce() -> O + Send>);
            return Ok(Ordered { here, threads: None });
        }
    };
    let mut made = std::collections::VecDeque::from([first, second]);
    let threads = threads.max(1);
    let window = 2 * threads;
    let (tokens, permits) = sync_channel::<()>(window);
    for _ in 0..window {
        tokens.send(()).expect("the channel holds the window");
    }
    let (inputs, queue) = sync_channel::<(u64, I)>(window);
    let (done, results) = channel();
    let stop = Arc::new(AtomicBool::new(false));
    let queue = Arc::new(Mutex::new(queue));
    let work = Arc::new(work);
    for k in 0..threads {
        let (queue, done, work) = (queue.clone(), done.clone(), work.clone());
        thread::Builder::new().name(format!("{name}-{k}")).spawn(move || loop {
            let next = queue.lock().unwrap_or_else(|e| e.into_inner()).recv();
            let Ok((seq, input)) = next else { return };
            let out = catch_unwind(AssertUnwindSafe(|| work(input)));
            if done.send((seq, out)).is_err() {
                return;
            }
        })?;
    }
    let halt = stop.clone();
    let producer = thread::Builder::new().name(name.to_string()).spawn(move || {
        let mut seq = 0;
        while permits.recv().is_ok() && !halt.load(Ordering::Relaxed) {
            let Some(input) = made.pop_front().or_else(&mut produce) else { return };
            if inputs.send((seq, input)).is_err() {
                return;
            }
            seq += 1;
        }
    })?;
    let threads = Threads { results, tokens, stop, waiting: BTreeMap::new(), next: 0, producer: Some(producer) };
    Ok(Ordered { here: None, threads: Some(threads) })
}

impl<O> Iterator for Ordered<O> {
    type Item = Result<O, Panicked>;

    fn next(&mut self) -> Option<Self::Item> {
        if let Some(work) = self.here.take() {
            return Some(catch_unwind(AssertUnwindSafe(work)).map_err(|_| Panicked));
        }
        let t = self.threads.as_mut()?;
        loop {
            if let Some(out) = t.waiting.remove(&t.next) {
                t.next += 1;
                let _ = t.tokens.try_send(());
                return Some(out.map_err(|_| Panicked));
            }
            match t.results.recv() {
                Ok((seq, out)) => {
                    t.waiting.insert(seq, out);
                }
                // Every worker is done: the producer ended (or panicked, never a silent cut).
                Err(_) => {
                    let panicked = t.producer.take().is_some_and(|h| h.join().is_err());
                    return panicked.then_some(Err(Panicked));
                }
            }
        }
    }
}

impl<O> Drop for Ordered<O> {
    fn drop(&mut self) {
        if let Some(t) = &self.threads {
            t.stop.store(true, Ordering::Relaxed);
        }
    }
}

/// A chunk's buffers, as the readers make them: its bytes and one entry per record in them.
pub type Buffers<R> = (Vec<u8>, Vec<R>);

/// Chunk buffers the workers hand back for the producer to fill again. Memory reused is memory
/// not faulted in afresh: when every CSV chunk took new buffers, the first touch of their pages
/// was a fifth of a CSV → Parquet run. At most `KEEP` are kept, about what can be in flight, and
/// none whose bytes grew past `max_bytes` (a record longer than a chunk), so one long record does
/// not keep its memory held for the rest of the read.
pub struct Spares<R> {
    kept: Arc<Mutex<Vec<Buffers<R>>>>,
    max_bytes: usize,
}

impl<R> Clone for Spares<R> {
    fn clone(&self) -> Self {
        Spares { kept: self.kept.clone(), max_bytes: self.max_bytes }
    }
}

impl<R> Spares<R> {
    const KEEP: usize = 8;

    pub fn new(max_bytes: usize) -> Self {
        Spares { kept: Arc::new(Mutex::new(Vec::new())), max_bytes }
    }

    /// Back for reuse, emptied here; dropped when too big or when enough are kept.
    pub fn give(&self, (mut bytes, mut records): Buffers<R>) {
        if bytes.capacity() > self.max_bytes {
            return;
        }
        bytes.clear();
        records.clear();
        let mut kept = self.kept.lock().unwrap_or_else(|e| e.into_inner());
        if kept.len() < Self::KEEP {
            kept.push((bytes, records));
        }
    }

    pub fn take(&self) -> Option<Buffers<R>> {
        self.kept.lock().unwrap_or_else(|e| e.into_inner()).pop()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn results_come_in_input_order_whatever_the_timing() {
        let mut n = 0u64;
        let out = ordered(
            "t",
            3,
            move || {
                n += 1;
                (n <= 200).then_some(n)
            },
            |x| {
                // Uneven work: later inputs often finish first.
                std::thread::sleep(std::time::Duration::from_micros((x * 7919) % 500));
                x * 2
            },
        )
        .unwrap();
        let got: Vec<u64> = out.map(Result::unwrap).collect();
        assert_eq!(got, (1..=200).map(|x| x * 2).collect::<Vec<_>>());
    }

    #[test]
    fn a_panicking_worker_is_an_error_in_its_place() {
        let mut n = 0;
        let out: Vec<Result<i32, Panicked>> = ordered(
            "t",
            2,
            move || {
                n += 1;
                (n <= 5).then_some(n)
            },
            |x| if x == 3 { panic!("boom") } else { x },
        )
        .unwrap()
        .collect();
        assert_eq!(out.len(), 5);
        assert!(out[2].is_err());
        assert_eq!(out.iter().filter_map(|r| r.as_ref().ok().copied()).collect::<Vec<_>>(), vec![1, 2, 4, 5]);
    }

    #[test]
    fn one_input_is_worked_here_and_none_gives_nothing() {
        let mut once = Some(7);
        let out: Vec<i32> = ordered("t", 4, move || once.take(), |x| x + 1).unwrap().map(Result::unwrap).collect();
        assert_eq!(out, vec![8]);
        assert_eq!(ordered("t", 4, || None::<i32>, |x| x).unwrap().count(), 0);
        let mut once = Some(1);
        let out: Vec<Result<i32, Panicked>> = ordered("t", 2, move || once.take(), |_: i32| -> i32 { panic!("boom") }).unwrap().collect();
        assert!(matches!(out.as_slice(), [Err(Panicked)]));
    }

    #[test]
    fn dropping_stops_the_producer() {
        let made = Arc::new(std::sync::atomic::AtomicUsize::new(0));
        let count = made.clone();
        let mut out = ordered("t", 2, move || Some(count.fetch_add(1, Ordering::SeqCst)), |x| x).unwrap();
        assert_eq!(out.next().unwrap().unwrap(), 0);
        drop(out);
        std::thread::sleep(std::time::Duration::from_millis(100));
        let after = made.load(Ordering::SeqCst);
        std::thread::sleep(std::time::Duration::from_millis(100));
        assert_eq!(made.load(Ordering::SeqCst), after, "the producer went on after the drop");
        assert!(after <= 2 * 2 + 2, "made {after} inputs for one taken");
    }

    /// Buffers come back empty, at most `KEEP` of them, and never one grown past the limit.
    #[test]
    fn spares_come_back_empty_and_bounded() {
        let spares: Spares<u32> = Spares::new(1024);
        spares.give((vec![0; 2000], vec![1, 2]));
        assert!(spares.take().is_none(), "a buffer past the limit is let go");
        for _ in 0..20 {
            spares.give((vec![9; 100], vec![3]));
        }
        let back: Vec<_> = std::iter::from_fn(|| spares.take()).collect();
        assert_eq!(back.len(), Spares::<u32>::KEEP);
        assert!(back.iter().all(|(b, r)| b.is_empty() && r.is_empty() && b.capacity() >= 100));
    }
}
