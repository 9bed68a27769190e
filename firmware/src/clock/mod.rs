//! The boards' clocks, each a `measure::Ticks`: SysTick (the mps2-an386).
pub mod systick;
