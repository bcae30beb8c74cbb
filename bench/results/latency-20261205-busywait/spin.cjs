// Prototype: keep the event loop polling (epoll timeout 0) by always having an immediate pending.
function spin() { setImmediate(spin); }
spin();
