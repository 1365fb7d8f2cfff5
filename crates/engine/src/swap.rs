//! Lock-free model swap between a control thread and the audio thread.
//!
//! The control side builds a [`Voice`] (allocating, parsing, resampling) and sends it as a
//! `Box` through a wait-free single-producer single-consumer ring ([`rtrb`]). The audio thread
//! takes it without allocating, crossfades, and sends the old voice back through a second ring,
//! so the old voice's memory is freed on the control side, never on the audio thread.

use rtrb::{Consumer, Producer, RingBuffer};

use crate::voice::Voice;

/// Voices that can wait in each direction.
const CAPACITY: usize = 4;

/// The control side of the swap: sends new voices, frees old ones (held by the
/// [`VoiceFactory`](crate::VoiceFactory)).
pub(crate) struct VoiceSender {
    /// New voices toward the audio thread.
    incoming: Producer<Box<Voice>>,
    /// Old voices back from the audio thread.
    retired: Consumer<Box<Voice>>,
}

/// The audio side of the swap, owned by the engine.
pub(crate) struct VoiceReceiver {
    /// New voices from the control side.
    incoming: Consumer<Box<Voice>>,
    /// Old voices back to the control side.
    retired: Producer<Box<Voice>>,
    /// A retired voice that did not fit in the ring yet; retried on the next block.
    pending: Option<Box<Voice>>,
}

/// A connected sender/receiver pair.
pub(crate) fn channel() -> (VoiceSender, VoiceReceiver) {
    let (incoming_tx, incoming_rx) = RingBuffer::new(CAPACITY);
    let (retired_tx, retired_rx) = RingBuffer::new(CAPACITY);
    (
        VoiceSender {
            incoming: incoming_tx,
            retired: retired_rx,
        },
        VoiceReceiver {
            incoming: incoming_rx,
            retired: retired_tx,
            pending: None,
        },
    )
}

impl VoiceSender {
    /// Sends a voice to the audio thread. When the ring is full, the voice comes back as the
    /// error (nothing is lost; try again after the audio thread ran).
    pub fn send(&mut self, voice: Box<Voice>) -> Result<(), Box<Voice>> {
        self.collect_garbage();
        self.incoming
            .push(voice)
            .map_err(|rtrb::PushError::Full(v)| v)
    }

    /// Frees the voices the audio thread is done with. Returns how many were freed.
    pub fn collect_garbage(&mut self) -> usize {
        let mut freed = 0;
        while let Ok(voice) = self.retired.pop() {
            drop(voice);
            freed += 1;
        }
        freed
    }

    /// Voices sent but not yet picked up by the audio thread.
    pub fn in_flight(&self) -> usize {
        self.incoming.buffer().capacity() - self.incoming.slots()
    }
}

impl VoiceReceiver {
    /// Takes the newest waiting voice, retiring any older ones that were skipped. Wait-free.
    pub fn take(&mut self) -> Option<Box<Voice>> {
        let mut newest = None;
        while let Ok(voice) = self.incoming.pop() {
            if let Some(skipped) = newest.replace(voice) {
                self.retire(skipped);
            }
        }
        newest
    }

    /// Hands a voice back to the control side to be freed there. If the ring is full the
    /// voice waits in a one-slot holding area; should that be taken too, the older voice is
    /// leaked rather than freed on the audio thread (that needs 5 swaps between two
    /// `collect_garbage` calls).
    pub fn retire(&mut self, voice: Box<Voice>) {
        self.flush();
        if let Err(rtrb::PushError::Full(v)) = self.retired.push(voice) {
            if let Some(old) = self.pending.replace(v) {
                std::mem::forget(old);
            }
        }
    }

    /// Retries handing back a held voice. Wait-free.
    pub fn flush(&mut self) {
        if let Some(v) = self.pending.take() {
            if let Err(rtrb::PushError::Full(v)) = self.retired.push(v) {
                self.pending = Some(v);
            }
        }
    }
}
