"""One adapter per chat platform: translate platform events to engine events and engine messages to the platform."""
