package live

import "context"

// KickVisitorToken closes, on every node, the visitor's sockets opened
// with token tokenID (4001), once it is revoked: the visitor's sockets
// opened with their other devices' tokens stay. An empty tokenID closes
// every socket of the visitor (all their tokens revoked: erasure).
func (s *Service) KickVisitorToken(ctx context.Context, visitorID, tokenID string) error {
	return s.hub.publish(ctx, s.hub.visitorChannel(visitorID), &envelope{Kind: evKick, Token: tokenID})
}
