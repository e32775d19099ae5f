//! The simulated locker (to be written).
