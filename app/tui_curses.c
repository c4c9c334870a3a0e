/* tui_curses.c - the only file that talks to the terminal: opens and closes
 * an ncurses screen, maps colour roles to attributes, copies a rendered grid
 * to the screen, reads keys, and runs the panel loops (see tui.h). */
#include <curses.h>
#include <langinfo.h>
#include <locale.h>
#include <signal.h>
#include <sys/ioctl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "tui.h"
#include "tui_model.h"

typedef struct term {
    SCREEN *scr;
    char *old_locale;            /* restored on close */
    bool utf8, colors;
    const sq_tui_glyphs *gl;
    attr_t attr[SQ_ROLE_COUNT];
    struct sigaction old_winch;  /* SIGWINCH disposition before the panel */
    bool winch_set;              /* ours is installed (restore old_winch) */
} term;

/* Set by our SIGWINCH handler while a panel runs; read by term_key. The
 * panel installs its own handler because the one in place may not be
 * ncurses' (readline's, when it keeps its handlers installed; ncurses only
 * installs its handler when it finds SIGWINCH at SIG_DFL, once per process),
 * and because ncurses' resize reads LINES/COLUMNS when they are set; the
 * handler's work (ioctl, resizeterm) is done in term_key, outside the
 * signal handler. */
static volatile sig_atomic_t winch_pending;
/* Whether a resize happened during the panel (re-raised for the previous
 * handler on exit, so e.g. readline learns the new size). */
static bool winch_seen;

static void on_winch(int sig)
{
    (void)sig;
    winch_pending = 1;
}

/* Install on_winch (no SA_RESTART: a blocking read returns at once). */
static void winch_install(term *T)
{
    struct sigaction sa;
    memset(&sa, 0, sizeof sa);
    sa.sa_handler = on_winch;
    sigemptyset(&sa.sa_mask);
    winch_pending = 0;
    winch_seen = false;
    T->winch_set = sigaction(SIGWINCH, &sa, &T->old_winch) == 0;
}

/* Put the previous SIGWINCH disposition back; when the window changed size
 * meanwhile, deliver one SIGWINCH to it so its owner can catch up. */
static void winch_restore(term *T)
{
    if (!T->winch_set)
        return;
    sigaction(SIGWINCH, &T->old_winch, NULL);
    T->winch_set = false;
    if (winch_seen || winch_pending) {
        winch_pending = 0;
        winch_seen = false;
        raise(SIGWINCH);
    }
}

/* After a SIGWINCH: tell ncurses the terminal's new size (LINES/COLS, a
 * full repaint on the next refresh). */
static void winch_apply(void)
{
    struct winsize ws;
    winch_pending = 0;
    winch_seen = true;
    if (ioctl(STDOUT_FILENO, TIOCGWINSZ, &ws) == 0 && ws.ws_row > 0 && ws.ws_col > 0)
        resizeterm(ws.ws_row, ws.ws_col);
    clearok(curscr, TRUE);
}

/* Colour pair per role (foreground, background; -1 = terminal default) and
 * the attribute added with colours / used alone in monochrome. */
static const struct {
    short fg, bg;
    attr_t color_attr, mono_attr;
} role_style[SQ_ROLE_COUNT] = {
    [SQ_ROLE_NORMAL] = {-1, -1, A_NORMAL, A_NORMAL},
    [SQ_ROLE_HEADER] = {COLOR_BLACK, COLOR_CYAN, A_NORMAL, A_REVERSE},
    [SQ_ROLE_TITLE] = {COLOR_YELLOW, -1, A_BOLD, A_BOLD},
    [SQ_ROLE_LABEL] = {COLOR_CYAN, -1, A_NORMAL, A_NORMAL},
    [SQ_ROLE_VALUE] = {-1, -1, A_BOLD, A_BOLD},
    [SQ_ROLE_BAR_VALUE] = {COLOR_BLUE, -1, A_BOLD, A_NORMAL},
    [SQ_ROLE_BAR_ERROR] = {COLOR_MAGENTA, -1, A_NORMAL, A_NORMAL},
    [SQ_ROLE_MARKER] = {COLOR_YELLOW, -1, A_BOLD, A_BOLD},
    [SQ_ROLE_SELECTED] = {COLOR_GREEN, -1, A_BOLD, A_BOLD | A_UNDERLINE},
    [SQ_ROLE_PIN] = {-1, -1, A_NORMAL, A_NORMAL},
    [SQ_ROLE_FOOTER] = {COLOR_BLACK, COLOR_WHITE, A_NORMAL, A_REVERSE},
    [SQ_ROLE_WARN] = {COLOR_RED, -1, A_BOLD, A_BOLD},
    [SQ_ROLE_BAR_CLIP] = {COLOR_RED, -1, A_NORMAL, A_DIM},
};

bool sq_tui_available(void)
{
    return isatty(STDIN_FILENO) && isatty(STDOUT_FILENO) && sq_tui_term_ok(getenv("TERM"));
}

/* Take the terminal. On failure nothing is left changed. */
static sq_status term_open(term *T, sq_error *err)
{
    memset(T, 0, sizeof *T);
    if (!sq_tui_available())
        return sq_fail(err, SQ_ERR_UNSUPPORTED, "the panel needs a terminal on stdin and stdout (TERM set and not \"dumb\")");
    const char *cur = setlocale(LC_ALL, NULL);
    T->old_locale = strdup(cur ? cur : "C");
    if (!T->old_locale)
        return sq_fail(err, SQ_ERR_NOMEM, "out of memory");
    setlocale(LC_ALL, "");
    const char *cs = nl_langinfo(CODESET);
    T->utf8 = cs && (strcmp(cs, "UTF-8") == 0 || strcmp(cs, "utf8") == 0);
    T->gl = sq_tui_glyphs_get(T->utf8);
    fflush(stdout);
    /* the size from the terminal (ioctl) before LINES/COLUMNS: readline
     * exports those (rl_change_environment) and they go stale when the window
     * is resized outside readline - ncurses would keep the old size */
    use_env(TRUE);
    use_tioctl(TRUE);
    T->scr = newterm(NULL, stdout, stdin);
    if (!T->scr) {
        setlocale(LC_ALL, T->old_locale);
        free(T->old_locale);
        T->old_locale = NULL;
        return sq_fail(err, SQ_ERR_UNSUPPORTED, "cannot initialise the terminal (TERM=%s)",
                       getenv("TERM") ? getenv("TERM") : "");
    }
    set_term(T->scr);
    winch_install(T);
    raw();
    noecho();
    keypad(stdscr, TRUE);
    set_escdelay(25);
    curs_set(0);
    T->colors = has_colors();
    if (T->colors) {
        start_color();
        use_default_colors();
        for (int r = 1; r < SQ_ROLE_COUNT; r++)
            init_pair((short)r, role_style[r].fg, role_style[r].bg);
    }
    for (int r = 0; r < SQ_ROLE_COUNT; r++)
        T->attr[r] = T->colors && r > 0 ? (attr_t)(COLOR_PAIR(r) | role_style[r].color_attr) : role_style[r].mono_attr;
    return SQ_OK;
}

/* Give the terminal back (every exit path goes through here). */
static void term_close(term *T)
{
    if (T->scr) {
        curs_set(1);
        endwin();
        delscreen(T->scr);
        T->scr = NULL;
    }
    winch_restore(T);
    if (T->old_locale) {
        setlocale(LC_ALL, T->old_locale);
        free(T->old_locale);
        T->old_locale = NULL;
    }
    fflush(stdout);
}

/* Copy the grid to the screen, one run of same-role cells at a time. */
static void term_draw(term *T, const sq_tui_grid *g)
{
    char run[4096];
    erase();
    for (int y = 0; y < g->h && y < LINES; y++) {
        int x = 0;
        while (x < g->w && x < COLS) {
            int role = g->cells[y * g->w + x].role, x0 = x;
            size_t len = 0;
            while (x < g->w && x < COLS && g->cells[y * g->w + x].role == role && len + 5 < sizeof run) {
                if (y == LINES - 1 && x == COLS - 1)
                    break; /* writing the last cell would scroll */
                size_t l = strlen(g->cells[y * g->w + x].g);
                memcpy(run + len, g->cells[y * g->w + x].g, l);
                len += l;
                x++;
            }
            run[len] = '\0';
            attrset(T->attr[role < SQ_ROLE_COUNT ? role : 0]);
            mvaddstr(y, x0, run);
            if (x == x0)
                break;
        }
    }
    attrset(A_NORMAL);
    refresh();
}

/* Next key as the models expect it; -1 on timeout, 0 for a resize. A
 * blocking wait (timeout_ms < 0) polls for resizes every 100 ms, in case a
 * SIGWINCH arrives just before the read starts. */
static int term_key(int timeout_ms)
{
    int c;
    for (;;) {
        if (winch_pending) {
            winch_apply();
            return 0;
        }
        timeout(timeout_ms < 0 ? 100 : timeout_ms);
        c = getch();
        if (c != ERR || timeout_ms >= 0 || winch_pending)
            break;
    }
    if (c == ERR && winch_pending) {
        winch_apply();
        return 0;
    }
    switch (c) {
    case ERR: return -1;
    case KEY_RESIZE: return 0;
    case KEY_LEFT: return SQ_TUI_KEY_LEFT;
    case KEY_RIGHT: return SQ_TUI_KEY_RIGHT;
    case KEY_UP: return SQ_TUI_KEY_UP;
    case KEY_DOWN: return SQ_TUI_KEY_DOWN;
    case KEY_HOME: return SQ_TUI_KEY_HOME;
    case KEY_END: return SQ_TUI_KEY_END;
    case KEY_PPAGE: return SQ_TUI_KEY_PGUP;
    case KEY_NPAGE: return SQ_TUI_KEY_PGDN;
    case KEY_ENTER: case '\n': case '\r': return SQ_TUI_KEY_ENTER;
    case 27: return SQ_TUI_KEY_ESC;
    case 3: return 'q'; /* Ctrl-C in raw mode */
    default: return c;
    }
}

/* The note the next panel shows (sq_tui_set_note). */
static char pending_note[512];

void sq_tui_set_note(const char *note)
{
    snprintf(pending_note, sizeof pending_note, "%s", note ? note : "");
}

/* Run the panel on an initialised model until the user leaves. */
static void model_loop(term *T, sq_tui_model *mp)
{
#define m (*mp)
    sq_tui_grid g = {0};
    sq_tui_layout lay;
    sq_error e2;
    if (pending_note[0]) { /* shown until the first key */
        snprintf(m.msg, sizeof m.msg, "%s", pending_note);
        pending_note[0] = '\0';
    }
    for (;;) {
        sq_tui_layout_compute(&m, COLS, LINES, &lay);
        bool failed = !m.have && m.fail[0] && memcmp(&m.fail_cfg, &m.cfg, sizeof m.cfg) == 0; /* no retry */
        if (!lay.too_small && !failed &&
            (!m.have || m.bins != lay.plot_w || memcmp(&m.done_cfg, &m.cfg, sizeof m.cfg) != 0)) {
            char keep[sizeof m.msg];
            memcpy(keep, m.msg, sizeof keep);
            if (sq_tui_model_update(&m, lay.plot_w, &e2) == SQ_OK)
                memcpy(m.msg, keep, sizeof keep);
        }
        if (m.walk && m.have && m.done_cfg.format != SQ_FORMAT_INT)
            sq_tui_model_xhat(&m); /* the walk-through's x-hat (formats; INT computes its own) */
        sq_tui_render(&m, &lay, &g, T->gl);
        term_draw(T, &g);
        /* apply every key already typed before recomputing (keys never queue
         * up behind slow analyses) */
        bool quit = false;
        for (int k = term_key(-1); k >= 0 && !quit; k = term_key(0)) {
            if (k == 0)
                continue;
            int f = sq_tui_model_key(&m, k);
            if (f & SQ_TUI_SAVE) {
                char *text = sq_tui_grid_text(&g);
                if (sq_tui_save(&m, text, ".", m.msg, sizeof m.msg, &e2) != SQ_OK)
                    snprintf(m.msg, sizeof m.msg, "save failed: %.480s", e2.msg);
                free(text);
            }
            quit = (f & SQ_TUI_QUIT) != 0;
        }
        if (quit)
            break;
    }
    sq_tui_grid_free(&g);
#undef m
}

/* The tensor panel on an open terminal; *cfg is the start and receives the
 * configuration the user left with. */
static sq_status tensor_loop(term *T, const sq_tensor *t, const char *name, sq_qconfig *cfg, sq_error *err)
{
    sq_tui_model m;
    sq_status s = sq_tui_model_init(&m, t, name, cfg, err);
    if (s != SQ_OK)
        return s;
    model_loop(T, &m);
    *cfg = m.cfg;
    sq_tui_model_free(&m);
    return SQ_OK;
}

/* The panel on a loaded quantized tensor (see sq_tui_view_qtensor_source) on
 * an open terminal. */
static sq_status qtensor_loop(term *T, const sq_qtensor *q, const sq_tensor *source, const char *name,
                              sq_error *err)
{
    sq_tui_model m;
    sq_tensor *deq = NULL;
    sq_status s = SQ_OK;
    if (!source)
        s = sq_dequantize(q, &deq, err);
    if (s == SQ_OK)
        s = sq_tui_model_init_qtensor(&m, q, source, deq, name, err);
    if (s == SQ_OK) {
        model_loop(T, &m);
        sq_tui_model_free(&m);
    }
    sq_tensor_free(deq);
    return s;
}

/* The pair panel (sq_tui_view_pair) on an open terminal. */
static void pair_loop(term *T, sq_tui_pair *p)
{
    sq_tui_grid g = {0};
    sq_tui_pair_layout_t lay;
    sq_error e2;
    for (;;) {
        sq_tui_pair_layout(COLS, LINES, &lay);
        sq_tui_pair_update(p, lay.plot_w, &e2);
        sq_tui_pair_render(p, &lay, &g, T->gl);
        term_draw(T, &g);
        bool quit = false;
        for (int k = term_key(-1); k >= 0 && !quit; k = term_key(0))
            quit = k != 0 && (sq_tui_pair_key(p, k) & SQ_TUI_QUIT) != 0;
        if (quit)
            break;
    }
    sq_tui_grid_free(&g);
}

sq_status sq_tui_view_pair(const sq_tensor *a, const sq_tensor *b, const char *name, sq_error *err)
{
    term T;
    sq_tui_pair p;
    sq_status s = sq_tui_pair_init(&p, a, b, name, err); /* shape / value errors before the screen */
    if (s != SQ_OK)
        return s;
    s = term_open(&T, err);
    if (s == SQ_OK) {
        pair_loop(&T, &p);
        term_close(&T);
    }
    sq_tui_pair_free(&p);
    return s;
}

sq_status sq_tui_view_tensor(const sq_tensor *t, const char *name, const sq_qconfig *initial, sq_error *err)
{
    term T;
    sq_qconfig cfg = initial ? *initial : sq_qconfig_default();
    sq_status s = sq_qconfig_check(&cfg, t->shape, t->ndim, err);
    if (s != SQ_OK)
        return s;
    s = term_open(&T, err);
    if (s != SQ_OK)
        return s;
    s = tensor_loop(&T, t, name, &cfg, err);
    term_close(&T);
    return s;
}

sq_status sq_tui_view_qtensor_source(const sq_qtensor *q, const sq_tensor *source, const char *name,
                                     sq_error *err)
{
    term T;
    sq_status s = sq_tui_qtensor_check(q, source, err); /* before taking the terminal */
    if (s != SQ_OK)
        return s;
    s = term_open(&T, err);
    if (s != SQ_OK)
        return s;
    s = qtensor_loop(&T, q, source, name, err);
    term_close(&T);
    return s;
}

sq_status sq_tui_view_qtensor(const sq_qtensor *q, const char *name, sq_error *err)
{
    return sq_tui_view_qtensor_source(q, NULL, name, err);
}

/* Open quantized entry i of src in the panel, against its original when the
 * source has one of the right shape; errors go to msg. */
static void open_quantized(term *T, const sq_tui_source *src, size_t i, char *msg, size_t msize)
{
    sq_qtensor *q = NULL;
    sq_tensor *orig = NULL;
    sq_error e2;
    if (src->load_q(src->ctx, i, &q, &e2) != SQ_OK) {
        snprintf(msg, msize, "cannot open: %.200s", e2.msg);
        return;
    }
    if (src->load_orig && (src->load_orig(src->ctx, i, &orig, &e2) != SQ_OK || sq_tui_qtensor_check(q, orig, &e2) != SQ_OK)) {
        sq_tensor_free(orig);
        orig = NULL;
    }
    if (qtensor_loop(T, q, orig, src->name(src->ctx, i), &e2) != SQ_OK)
        snprintf(msg, msize, "cannot open: %.200s", e2.msg);
    sq_tensor_free(orig);
    sq_qtensor_free(q);
}

sq_status sq_tui_view_source(const sq_tui_source *src, const char *title, const sq_qconfig *initial,
                             sq_error *err)
{
    term T;
    sq_tui_list l;
    sq_tui_grid g = {0};
    sq_status s = sq_tui_list_init(&l, src, title, initial, err);
    if (s != SQ_OK)
        return s;
    s = term_open(&T, err);
    if (s != SQ_OK) {
        sq_tui_list_free(&l);
        return s;
    }
    for (;;) {
        sq_tui_list_render(&l, COLS, LINES, &g);
        term_draw(&T, &g);
        bool pending = l.done < src->n;
        int k = term_key(pending ? 0 : -1);
        if (k < 0) {
            if (pending)
                sq_tui_list_step(&l);
            continue;
        }
        if (k == 0)
            continue;
        int f = sq_tui_list_key(&l, k);
        if (f & SQ_TUI_QUIT)
            break;
        if (f & SQ_TUI_OPEN) {
            size_t i = sq_tui_list_selected(&l);
            sq_tensor *t = NULL;
            sq_error e2;
            if (src->is_quantized && src->load_q && src->is_quantized(src->ctx, i)) {
                open_quantized(&T, src, i, l.msg, sizeof l.msg);
                continue;
            }
            if (src->load(src->ctx, i, &t, &e2) != SQ_OK) {
                snprintf(l.msg, sizeof l.msg, "cannot load: %.200s", e2.msg);
                continue;
            }
            sq_qconfig cfg = l.cfg;
            sq_tui_config_fit(&cfg, t->shape, t->ndim);
            if (tensor_loop(&T, t, src->name(src->ctx, i), &cfg, &e2) != SQ_OK)
                snprintf(l.msg, sizeof l.msg, "%.250s", e2.msg);
            sq_tensor_free(t);
            if (memcmp(&cfg, &l.cfg, sizeof cfg) != 0) {
                l.cfg = cfg; /* the list follows the settings chosen in the panel */
                sq_tui_list_invalidate(&l);
            }
        }
    }
    term_close(&T);
    sq_tui_list_free(&l);
    sq_tui_grid_free(&g);
    return SQ_OK;
}
