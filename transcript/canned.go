package transcript

import (
	"net/http"

	"github.com/labstack/echo/v4"

	"github.com/chatd/chatd/chat"
	"github.com/chatd/chatd/chat/access"
	"github.com/chatd/chatd/chat/rest"
)

type cannedBody struct {
	Unit  *string `json:"unit"`
	Lang  *string `json:"lang"`
	Title *string `json:"title"`
	Text  *string `json:"text"`
}

// apply copies the given fields onto r and checks the result.
func (api *API) applyCanned(b cannedBody, r *chat.CannedReply) error {
	if b.Unit != nil {
		r.Unit = trimmed(*b.Unit)
	}
	if b.Lang != nil {
		r.Lang = trimmed(*b.Lang)
	}
	if b.Title != nil {
		r.Title = trimmed(*b.Title)
	}
	if b.Text != nil {
		r.Text = *b.Text
	}
	if r.Unit != "" && !api.validUnit(r.Unit) {
		return chat.Errorf(chat.EUnknownUnit, "unknown unit %q", r.Unit)
	}
	if r.Lang != "tr" && r.Lang != "en" {
		return chat.Errorf(chat.EInvalid, "lang must be tr or en")
	}
	var err error
	if r.Title, err = checkText("title", r.Title, 100); err != nil {
		return err
	}
	r.Text, err = checkText("text", r.Text, api.cfg.MaxMessageBytes)
	return err
}

// listCanned serves GET /api/v1/canned-replies?unit=&lang=: the standard
// replies of the units the principal serves and those of every unit.
func (api *API) listCanned(c echo.Context) error {
	ctx := c.Request().Context()
	p, err := access.Require(ctx, access.ReadCanned)
	if err != nil {
		return err
	}
	units := access.Units(p)
	if u := c.QueryParam("unit"); u != "" {
		if !api.validUnit(u) {
			return chat.Errorf(chat.EUnknownUnit, "unknown unit %q", u)
		}
		if access.SeesUnit(p, u) {
			units = []string{u}
		} else {
			units = []string{}
		}
	}
	lang := c.QueryParam("lang")
	if lang != "" && lang != "tr" && lang != "en" {
		return chat.Errorf(chat.EInvalid, "lang must be tr or en")
	}
	items, err := api.store.CannedReplies(ctx, units, lang)
	if err != nil {
		return err
	}
	if items == nil {
		items = []*chat.CannedReply{}
	}
	return c.JSON(http.StatusOK, map[string]any{"items": items})
}

// createCanned serves POST /api/v1/canned-replies (supervisors for their
// units, admins for any and for every unit).
func (api *API) createCanned(c echo.Context) error {
	ctx := c.Request().Context()
	p, err := access.Require(ctx, access.ManageCanned)
	if err != nil {
		return err
	}
	var b cannedBody
	if err := rest.Bind(c, &b); err != nil {
		return err
	}
	r := &chat.CannedReply{}
	if err := api.applyCanned(b, r); err != nil {
		return err
	}
	if !access.ManagesCanned(p, r.Unit) {
		return chat.Errorf(chat.EForbidden, "standard replies of this unit are managed by its supervisors and admins")
	}
	if err := api.store.SaveCannedReply(ctx, r); err != nil {
		return err
	}
	if err := api.audit.Record(ctx, p, access.AuditCannedCreated, access.ObjectCanned, r.ID, cannedDetail(r)); err != nil {
		return err
	}
	return c.JSON(http.StatusCreated, r)
}

func (api *API) cannedFor(c echo.Context) (chat.Principal, *chat.CannedReply, error) {
	ctx := c.Request().Context()
	p, err := access.Require(ctx, access.ManageCanned)
	if err != nil {
		return p, nil, err
	}
	r, err := api.store.CannedReply(ctx, c.Param("id"))
	if err != nil {
		return p, nil, err
	}
	if r.Unit != "" && !access.SeesUnit(p, r.Unit) {
		return p, nil, chat.Errorf(chat.ENotFound, "no such standard reply")
	}
	if !access.ManagesCanned(p, r.Unit) {
		return p, nil, chat.Errorf(chat.EForbidden, "standard replies of this unit are managed by its supervisors and admins")
	}
	return p, r, nil
}

func (api *API) updateCanned(c echo.Context) error {
	p, r, err := api.cannedFor(c)
	if err != nil {
		return err
	}
	var b cannedBody
	if err := rest.Bind(c, &b); err != nil {
		return err
	}
	if err := api.applyCanned(b, r); err != nil {
		return err
	}
	if !access.ManagesCanned(p, r.Unit) {
		return chat.Errorf(chat.EForbidden, "standard replies of this unit are managed by its supervisors and admins")
	}
	ctx := c.Request().Context()
	if err := api.store.SaveCannedReply(ctx, r); err != nil {
		return err
	}
	if err := api.audit.Record(ctx, p, access.AuditCannedChanged, access.ObjectCanned, r.ID, cannedDetail(r)); err != nil {
		return err
	}
	return c.JSON(http.StatusOK, r)
}

func (api *API) deleteCanned(c echo.Context) error {
	p, r, err := api.cannedFor(c)
	if err != nil {
		return err
	}
	ctx := c.Request().Context()
	if err := api.store.DeleteCannedReply(ctx, r.ID); err != nil {
		return err
	}
	if err := api.audit.Record(ctx, p, access.AuditCannedDeleted, access.ObjectCanned, r.ID, cannedDetail(r)); err != nil {
		return err
	}
	return c.NoContent(http.StatusNoContent)
}

// cannedDetail names a standard reply's unit and language for the audit
// row (its title and text are the desk's own, but the log keeps no text).
func cannedDetail(r *chat.CannedReply) string {
	unit := r.Unit
	if unit == "" {
		unit = "*"
	}
	return "unit=" + unit + " lang=" + r.Lang
}
