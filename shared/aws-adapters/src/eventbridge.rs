//! [`EventPublisher`] on EventBridge: one `PutEvents` entry per completion event.

use async_trait::async_trait;
use aws_sdk_eventbridge::Client;
use aws_sdk_eventbridge::types::PutEventsRequestEntry;
use pipeline::messages::{AssetEvent, EVENT_SOURCE};
use pipeline::ports::EventPublisher;
use pipeline::{PortError, PortErrorKind};

use crate::classify::port_error;

/// Publishes completion events to an event bus.
#[derive(Debug, Clone)]
pub struct EventBridgePublisher {
    client: Client,
    bus: String,
}

impl EventBridgePublisher {
    /// A publisher to the bus named `bus`.
    pub fn new(client: Client, bus: impl Into<String>) -> EventBridgePublisher {
        EventBridgePublisher { client, bus: bus.into() }
    }
}

#[async_trait]
impl EventPublisher for EventBridgePublisher {
    async fn publish(&self, event: &AssetEvent) -> Result<(), PortError> {
        let detail = serde_json::to_string(event).map_err(|error| {
            PortError::new("events:PutEvents", PortErrorKind::Rejected, error.to_string())
        })?;
        let entry = PutEventsRequestEntry::builder()
            .event_bus_name(&self.bus)
            .source(EVENT_SOURCE)
            .detail_type(event.detail_type())
            .resources(format!("arn:aws:s3:::{}/{}", event.bucket, event.key))
            .detail(detail)
            .build();
        let output = self
            .client
            .put_events()
            .entries(entry)
            .send()
            .await
            .map_err(|e| port_error("events:PutEvents", e))?;
        if output.failed_entry_count > 0 {
            let reason =
                output.entries().first().and_then(|entry| entry.error_message()).unwrap_or("unknown");
            return Err(PortError::new("events:PutEvents", PortErrorKind::Unavailable, reason));
        }
        Ok(())
    }
}
