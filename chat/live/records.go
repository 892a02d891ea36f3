package live

import (
	"net/http"
	"strconv"

	"github.com/labstack/echo/v4"

	"github.com/chatd/chatd/chat"
	"github.com/chatd/chatd/chat/access"
)

// assignmentsRoute serves GET /api/v1/chats/{chat_id}/assignments: every
// assignment, requeue and transfer of the chat with the rule and the
// candidates weighed, oldest first. Supervisors of the chat's unit and
// admins; every look, and every refused one, is on the audit log.
func (s *Service) assignmentsRoute(c echo.Context) error {
	ctx := c.Request().Context()
	who, err := access.Require(ctx, access.ReadAssignments)
	id := c.Param("chat_id")
	if err != nil {
		// Staff or a key of the wrong kind (403) tried to look at a chat's
		// record: on the log, as a refused look on the socket is.
		s.auditRefused(ctx, who, "chat.assignments.denied", id, err)
		return err
	}
	ch, err := s.store.Chat(ctx, id)
	if err == nil {
		err = access.Chat(who, access.ReadAssignments, ch)
	}
	if err != nil {
		if code := chat.ErrorCode(err); code == chat.ENotFound || code == chat.EForbidden {
			if aerr := s.audit.Record(ctx, who, "chat.assignments.denied", "chat", id, code); aerr != nil {
				return aerr
			}
		}
		return err
	}
	recs, err := s.store.Assignments(ctx, ch.ID)
	if err != nil {
		return err
	}
	if err := s.audit.Record(ctx, who, "chat.assignments.read", "chat", ch.ID, strconv.Itoa(len(recs))+" records"); err != nil {
		return err
	}
	if recs == nil {
		recs = []chat.AssignmentRecord{}
	}
	return c.JSON(http.StatusOK, map[string]any{"chat_id": ch.ID, "unit": ch.Unit, "items": recs})
}
