//! Time-shifted delivery: delay levels (`SCHEDULE_TOPIC_XXXX`) and the service that moves due
//! messages back to their real topic.

pub mod delay;
