/* repl.c - the Lua interpreter side of squint: options, scripts and the REPL
 * (the structure follows lua.c; the code is squint's own). */
#include <stdio.h>

#include "repl.h"

#include <errno.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/select.h>
#include <sys/stat.h>
#include <unistd.h>

#include <lauxlib.h>
#include <lua.h>
#include <lualib.h>

#include "lsquint.h"

#ifdef SQ_HAVE_READLINE
#include <readline/history.h>
#include <readline/readline.h>
#endif

#define REPL_PROMPT "squint> "
#define REPL_PROMPT2 "   ...> "
#define REPL_EOFMARK "<eof>"
#define REPL_HISTORY_MAX 1000

static const char *repl_progname = "squint";
static lua_State *repl_L;                          /* for the signal handler and completion */
static volatile sig_atomic_t repl_in_lua;          /* a chunk is running */
static volatile sig_atomic_t repl_sigint_pending;  /* Ctrl-C while reading a line */
static int repl_use_readline;                      /* stdin is a terminal and readline is built in */
static char *repl_history_path;                    /* NULL: no history file */

/* ---- messages and protected calls ------------------------------------- */

/* Print "squint: msg" to stderr. */
static void repl_message(const char *msg)
{
    fprintf(stderr, "%s: %s\n", repl_progname, msg);
    fflush(stderr);
}

/* Report a failed status: print the error at the top and pop it (stack: -1 on error). */
static int repl_report(lua_State *L, int status)
{
    if (status != LUA_OK) {
        const char *msg = lua_tostring(L, -1);
        repl_message(msg ? msg : "(error object is not a string)");
        lua_pop(L, 1);
    }
    return status;
}

/* Message handler: turn the error into a string and append a traceback (stack: 0). */
static int repl_msghandler(lua_State *L)
{
    const char *msg = lua_tostring(L, 1);
    if (msg == NULL) {
        if (luaL_callmeta(L, 1, "__tostring") && lua_type(L, -1) == LUA_TSTRING)
            return 1;
        msg = lua_pushfstring(L, "(error object is a %s value)", luaL_typename(L, 1));
    }
    luaL_traceback(L, L, msg, 1);
    return 1;
}

/* Hook set from the signal handler: raise "interrupted!" inside Lua. */
static void repl_stop_hook(lua_State *L, lua_Debug *ar)
{
    (void)ar;
    lua_sethook(L, NULL, 0, 0);
    luaL_error(L, "interrupted!");
}

/* SIGINT: inside a chunk, arrange for the hook to stop it (a second Ctrl-C
 * while still in C code kills the process, as in lua.c); at the prompt, ask
 * the line reader to drop the line. */
static void repl_on_sigint(int sig)
{
    if (repl_in_lua) {
        signal(sig, SIG_DFL);
        sq_lua_interrupt = 1; /* long engine loops (sq.report) poll it */
        lua_sethook(repl_L, repl_stop_hook, LUA_MASKCALL | LUA_MASKRET | LUA_MASKCOUNT, 1);
    } else {
        repl_sigint_pending = 1;
    }
}

/* Install the SIGINT handler without SA_RESTART, so blocking reads return EINTR. */
static void repl_catch_sigint(void)
{
    struct sigaction sa;
    memset(&sa, 0, sizeof sa);
    sa.sa_handler = repl_on_sigint;
    sigemptyset(&sa.sa_mask);
    sigaction(SIGINT, &sa, NULL);
}

/* sq_lua_interrupt_absorbed: sq.report stopped on Ctrl-C and returns the
 * rows computed so far, so cancel the pending "interrupted!" hook, re-arm
 * the handler (it reset itself to the default) and say what happened. */
static void repl_interrupt_absorbed(lua_State *L)
{
    lua_sethook(L, NULL, 0, 0);
    repl_catch_sigint();
    repl_message("interrupted: sq.report returns the rows computed so far (rows.interrupted = true)");
}

/* lua_pcall with Ctrl-C interruption: the handler raises "interrupted!"
 * inside Lua (stack: as lua_pcall). */
static int repl_pcall(lua_State *L, int narg, int nres, int msgh)
{
    repl_catch_sigint();
    sq_lua_interrupt = 0; /* a Ctrl-C of an earlier call is spent */
    sq_lua_interrupt_absorbed = repl_interrupt_absorbed;
    repl_in_lua = 1;
    int status = lua_pcall(L, narg, nres, msgh);
    repl_in_lua = 0;
    sq_lua_interrupt_absorbed = NULL;
    lua_sethook(L, NULL, 0, 0);
    repl_catch_sigint();
    return status;
}

/* Call the function below narg arguments with the message handler and
 * Ctrl-C interruption (stack: function + args replaced by results or error). */
static int repl_docall(lua_State *L, int narg, int nres)
{
    int base = lua_gettop(L) - narg;
    lua_pushcfunction(L, repl_msghandler);
    lua_insert(L, base);
    int status = repl_pcall(L, narg, nres, base);
    lua_remove(L, base);
    return status;
}

/* Run the loaded chunk (or report the load error) (stack: 0). */
static int repl_dochunk(lua_State *L, int status)
{
    if (status == LUA_OK)
        status = repl_docall(L, 0, 0);
    return repl_report(L, status);
}

/* Run the file name (NULL: stdin) (stack: 0). */
static int repl_dofile(lua_State *L, const char *name)
{
    return repl_dochunk(L, luaL_loadfile(L, name));
}

/* Run the string s from -e (stack: 0). */
static int repl_dostring(lua_State *L, const char *s, const char *name)
{
    return repl_dochunk(L, luaL_loadbuffer(L, s, strlen(s), name));
}

/* -l name: global name = require(name); -l g=name: global g (stack: 0). */
static int repl_dolibrary(lua_State *L, const char *spec)
{
    const char *eq = strchr(spec, '=');
    const char *mod = eq ? eq + 1 : spec;
    if (eq)
        lua_pushlstring(L, spec, (size_t)(eq - spec));
    else
        lua_pushstring(L, spec);
    lua_getglobal(L, "require");
    lua_pushstring(L, mod);
    int status = repl_docall(L, 1, 1); /* stack: global name, result or error */
    if (status == LUA_OK)
        lua_setglobal(L, lua_tostring(L, -2));
    else
        lua_insert(L, -2);
    lua_pop(L, 1);
    return repl_report(L, status);
}

/* LUA_INIT_5_4, else LUA_INIT: "@file" runs the file, anything else is
 * code (stack: 0). Returns the status (an error is reported). */
static int repl_luainit(lua_State *L)
{
    const char *name = "=LUA_INIT_5_4";
    const char *init = getenv(name + 1);
    if (init == NULL) {
        name = "=LUA_INIT";
        init = getenv(name + 1);
    }
    if (init == NULL)
        return LUA_OK;
    if (init[0] == '@')
        return repl_dofile(L, init + 1);
    return repl_dostring(L, init, name);
}

/* ---- value display ------------------------------------------------------ */

/* Lua source of the REPL's value printer: plain tables become strings
 * {k = v, ...} (two levels, 40 entries), everything else is left alone, and
 * the global print (as lua(1) calls it) writes them. */
static const char repl_show_src[] =
    "local function fmt(v, depth, seen)\n"
    "  local mt = getmetatable(v)\n"
    "  if type(v) == 'string' then return depth > 0 and string.format('%q', v) or v end\n"
    "  if type(v) ~= 'table' or (type(mt) == 'table' and mt.__tostring) or seen[v] or depth > 2 then\n"
    "    return tostring(v) end\n"
    "  seen[v] = true\n"
    "  local parts, n = {}, #v\n"
    "  for i = 1, n do\n"
    "    if #parts >= 40 then parts[#parts + 1] = '...'; break end\n"
    "    parts[#parts + 1] = fmt(v[i], depth + 1, seen) end\n"
    "  local keys = {}\n"
    "  for k in pairs(v) do\n"
    "    if not (math.type(k) == 'integer' and k >= 1 and k <= n) then keys[#keys + 1] = k end end\n"
    "  table.sort(keys, function(a, b) return tostring(a) < tostring(b) end)\n"
    "  for _, k in ipairs(keys) do\n"
    "    if #parts >= 40 then parts[#parts + 1] = '...'; break end\n"
    "    local ks = type(k) == 'string' and k:match('^[%a_][%w_]*$') and k or '[' .. fmt(k, 1, seen) .. ']'\n"
    "    parts[#parts + 1] = ks .. ' = ' .. fmt(v[k], depth + 1, seen) end\n"
    "  seen[v] = nil\n"
    "  return '{' .. table.concat(parts, ', ') .. '}'\n"
    "end\n"
    "return function(...)\n"
    "  local out, n = {}, select('#', ...)\n"
    "  for i = 1, n do\n"
    "    local v = select(i, ...)\n"
    "    local mt = getmetatable(v)\n"
    "    if type(v) == 'table' and not (type(mt) == 'table' and mt.__tostring) then v = fmt(v, 0, {}) end\n"
    "    out[i] = v\n"
    "  end\n"
    "  return table.unpack(out, 1, n)\n"
    "end\n";

/* Print every value on the stack through the global print, plain tables
 * formatted first; both run metamethods: protected and interruptible
 * with Ctrl-C (stack: emptied). */
static void repl_print(lua_State *L)
{
    int n = lua_gettop(L);
    if (n == 0)
        return;
    luaL_checkstack(L, LUA_MINSTACK, "too many results to print");
    lua_getglobal(L, "print");
    lua_insert(L, 1);
    lua_getfield(L, LUA_REGISTRYINDEX, "squint.repl.show");
    lua_insert(L, 2);
    int status = repl_pcall(L, n, n, 0);
    if (status == LUA_OK)
        status = repl_pcall(L, n, 0, 0);
    if (status != LUA_OK) {
        const char *msg = lua_tostring(L, -1);
        repl_message(lua_pushfstring(L, "error calling 'print' (%s)", msg ? msg : "(error object is not a string)"));
    }
    fflush(stdout);
    lua_settop(L, 0);
}

/* ---- history and completion ----------------------------------------------- */

#ifdef SQ_HAVE_READLINE
/* Choose the history file: $XDG_STATE_HOME/squint/history, else ~/.squint_history. */
static char *repl_history_file(void)
{
    const char *xdg = getenv("XDG_STATE_HOME"), *home = getenv("HOME");
    char *path = NULL;
    if (xdg && *xdg) {
        size_t n = strlen(xdg) + sizeof "/squint/history";
        if ((path = malloc(n)) == NULL)
            return NULL;
        snprintf(path, n, "%s/squint", xdg);
        mkdir(xdg, 0700);
        mkdir(path, 0700);
        snprintf(path, n, "%s/squint/history", xdg);
    } else if (home && *home) {
        size_t n = strlen(home) + sizeof "/.squint_history";
        if ((path = malloc(n)) == NULL)
            return NULL;
        snprintf(path, n, "%s/.squint_history", home);
    }
    return path;
}

static const char *const repl_keywords[] = {
    "and", "break", "do", "else", "elseif", "end", "false", "for", "function", "goto", "if", "in",
    "local", "nil", "not", "or", "repeat", "return", "then", "true", "until", "while", NULL};

static char **repl_cands;     /* completion candidates for the current word */
static size_t repl_ncands, repl_capcands, repl_nextcand;

/* Add prefix..key as a candidate when key starts with partial. */
static void repl_add_cand(const char *prefix, size_t plen, const char *key, const char *partial)
{
    if (strncmp(key, partial, strlen(partial)) != 0)
        return;
    for (const char *c = key; *c; c++) /* identifiers only */
        if (!(*c == '_' || (*c >= 'a' && *c <= 'z') || (*c >= 'A' && *c <= 'Z') || (c > key && *c >= '0' && *c <= '9')))
            return;
    for (size_t i = 0; i < repl_ncands; i++)
        if (strncmp(repl_cands[i], prefix, plen) == 0 && strcmp(repl_cands[i] + plen, key) == 0)
            return;
    if (repl_ncands == repl_capcands) {
        size_t cap = repl_capcands ? 2 * repl_capcands : 64;
        char **p = realloc(repl_cands, cap * sizeof *p);
        if (!p)
            return;
        repl_cands = p;
        repl_capcands = cap;
    }
    char *s = malloc(plen + strlen(key) + 1);
    if (!s)
        return;
    memcpy(s, prefix, plen);
    strcpy(s + plen, key);
    repl_cands[repl_ncands++] = s;
}

/* Add the string keys of the table at idx (stack: 0). */
static void repl_add_table_keys(lua_State *L, int idx, const char *prefix, size_t plen, const char *partial)
{
    idx = lua_absindex(L, idx);
    lua_pushnil(L);
    while (lua_next(L, idx)) {
        if (lua_type(L, -2) == LUA_TSTRING)
            repl_add_cand(prefix, plen, lua_tostring(L, -2), partial);
        lua_pop(L, 1);
    }
}

/* How many __index tables completion follows from a value (a chain of
 * metatables may be a cycle). */
#define REPL_INDEX_DEPTH 8

/* Push field k of the metatable at idx read raw (no metamethod of the
 * metatable itself runs); returns its type (stack: +1). */
static int repl_rawfield(lua_State *L, int idx, const char *k)
{
    idx = lua_absindex(L, idx);
    lua_pushstring(L, k);
    return lua_rawget(L, idx);
}

/* Add the members of the value at the top: table keys (and those of the
 * plain tables its metatables' __index chain leads to), or a squint
 * object's __methods (and __fields after '.'). Only raw reads: no
 * metamethod runs, so completion cannot raise, loop or change anything (stack: 0). */
static void repl_add_members(lua_State *L, const char *prefix, size_t plen, const char *partial, int method)
{
    int top = lua_gettop(L);
    for (int depth = 0; depth < REPL_INDEX_DEPTH; depth++) {
        if (lua_type(L, -1) == LUA_TTABLE)
            repl_add_table_keys(L, -1, prefix, plen, partial);
        if (!lua_getmetatable(L, -1))
            break;
        if (repl_rawfield(L, -1, "__methods") == LUA_TTABLE)
            repl_add_table_keys(L, -1, prefix, plen, partial);
        lua_pop(L, 1);
        if (!method && repl_rawfield(L, -1, "__fields") == LUA_TTABLE) {
            for (int i = 1; i <= 64 && lua_rawgeti(L, -1, i) == LUA_TSTRING; i++) {
                repl_add_cand(prefix, plen, lua_tostring(L, -1), partial);
                lua_pop(L, 1);
            }
            lua_pop(L, 1);
        }
        lua_pop(L, 1);
        if (repl_rawfield(L, -1, "__index") != LUA_TTABLE)
            break; /* a function __index is never called */
        lua_remove(L, -2); /* the metatable: go on with the __index table */
    }
    lua_settop(L, top);
}

/* Compute the candidates for text: globals and keywords, or the members of
 * the table reached by the dotted path before the last '.' or ':'
 * (lua_CFunction run under lua_pcall: text is a light userdata at 1). */
static int repl_complete_word(lua_State *L)
{
    const char *text = lua_touserdata(L, 1);
    const char *last = NULL;
    for (const char *c = text; *c; c++)
        if (*c == '.' || *c == ':')
            last = c;
    lua_pushglobaltable(L);
    if (!last) {
        repl_add_members(L, "", 0, text, 0);
        for (int i = 0; repl_keywords[i]; i++)
            repl_add_cand("", 0, repl_keywords[i], text);
    } else {
        const char *seg = text;
        int ok = 1;
        while (ok && seg < last) { /* walk the path with raw table reads */
            size_t n = strcspn(seg, ".:");
            if (lua_type(L, -1) != LUA_TTABLE || n == 0) {
                ok = 0;
                break;
            }
            lua_pushlstring(L, seg, n);
            lua_rawget(L, -2);
            lua_remove(L, -2);
            seg += n + 1;
        }
        if (ok && !lua_isnil(L, -1))
            repl_add_members(L, text, (size_t)(last - text + 1), last + 1, *last == ':');
    }
    return 0;
}

/* Whether position end of line is inside an open string literal ('...' or "..."). */
static int repl_in_string(const char *line, int end)
{
    char quote = 0;
    for (int i = 0; i < end && line[i]; i++) {
        if (quote && line[i] == '\\' && i + 1 < end)
            i++;
        else if (quote && line[i] == quote)
            quote = 0;
        else if (!quote && (line[i] == '"' || line[i] == '\''))
            quote = line[i];
        else if (!quote && line[i] == '-' && line[i + 1] == '-')
            return 0; /* a comment */
    }
    return quote != 0;
}

/* rl_completion_word_break_hook: inside a string the word is all of the
 * string so far (a file name with its directories); NULL: the usual breaks. */
static char *repl_word_breaks(void)
{
    static char in_string[] = "\"'";
    return repl_in_string(rl_line_buffer, rl_point) ? in_string : NULL;
}

/* readline generator: hand out the candidates one by one. */
static char *repl_completion_next(const char *text, int state)
{
    (void)text;
    if (state == 0)
        repl_nextcand = 0;
    if (repl_nextcand >= repl_ncands)
        return NULL;
    return strdup(repl_cands[repl_nextcand++]);
}

/* rl_attempted_completion_function: complete Lua names, and file names
 * inside a string literal (`sq.load("mod<Tab>`). */
static char **repl_completion(const char *text, int start, int end)
{
    (void)end;
    rl_attempted_completion_over = 1;
    rl_completion_append_character = '\0';
    if (repl_in_string(rl_line_buffer, start)) {
        rl_filename_completion_desired = 1;
        return rl_completion_matches(text, rl_filename_completion_function);
    }
    for (size_t i = 0; i < repl_ncands; i++)
        free(repl_cands[i]);
    repl_ncands = 0;
    /* protected: a memory error must not unwind through readline */
    lua_pushcfunction(repl_L, repl_complete_word);
    lua_pushlightuserdata(repl_L, (void *)text);
    if (lua_pcall(repl_L, 1, 0, 0) != LUA_OK)
        lua_pop(repl_L, 1);
    return rl_completion_matches(text, repl_completion_next);
}

static char *repl_rl_line;
static int repl_rl_done;

/* readline callback: a whole line (or NULL on EOF) arrived. */
static void repl_rl_handler(char *line)
{
    repl_rl_line = line;
    repl_rl_done = 1;
    rl_callback_handler_remove();
}

/* Read a line with readline's callback interface, so that Ctrl-C at the
 * prompt drops the line. Returns 1 (line in *out), 0 at EOF, -1 on Ctrl-C. */
static int repl_rl_read(const char *prompt, char **out)
{
    int fd = fileno(rl_instream ? rl_instream : stdin);
    repl_rl_done = 0;
    repl_sigint_pending = 0;
    if (rl_instream)
        rl_reset_screen_size(); /* the window may have been resized while the panel had it */
    rl_callback_handler_install(prompt, repl_rl_handler);
    while (!repl_rl_done) {
        fd_set fds;
        FD_ZERO(&fds);
        FD_SET(fd, &fds);
        int r = select(fd + 1, &fds, NULL, NULL, NULL);
        if (repl_sigint_pending) {
            repl_sigint_pending = 0;
            rl_free_line_state();
            rl_callback_sigcleanup();
            rl_callback_handler_remove();
            fputs("\n", stdout);
            fflush(stdout);
            return -1;
        }
        if (r < 0 && errno == EINTR)
            continue;
        if (r < 0) {
            rl_callback_handler_remove();
            return 0;
        }
        rl_callback_read_char();
    }
    *out = repl_rl_line;
    return repl_rl_line != NULL;
}

/* Set readline up: name, completion, word breaks, history file. */
static void repl_rl_init(void)
{
    rl_readline_name = "squint";
    rl_catch_signals = 0;
    rl_attempted_completion_function = repl_completion;
    rl_basic_word_break_characters = " \t\n\"\\'`@$><=;|&{(,+-*/%^#~)[]";
    rl_completer_word_break_characters = rl_basic_word_break_characters;
    rl_completion_word_break_hook = repl_word_breaks;
    stifle_history(REPL_HISTORY_MAX);
    repl_history_path = repl_history_file();
    if (repl_history_path) {
        read_history(repl_history_path);
        FILE *f = fopen(repl_history_path, "a"); /* so append_history has a file */
        if (f)
            fclose(f);
        history_truncate_file(repl_history_path, REPL_HISTORY_MAX);
    }
}

/* Add a chunk to the history, saving it at once (a killed session keeps it). */
static void repl_rl_save(const char *chunk)
{
    add_history(chunk);
    if (repl_history_path)
        append_history(1, repl_history_path);
}

/* Release readline state at the end of the REPL. */
static void repl_rl_done_all(void)
{
    for (size_t i = 0; i < repl_ncands; i++)
        free(repl_cands[i]);
    free(repl_cands);
    repl_cands = NULL;
    repl_ncands = repl_capcands = 0;
    free(repl_history_path);
    repl_history_path = NULL;
    rl_clear_history();
}
#endif

/* ---- line reading: readline on a terminal, else getline ------------------ */

/* Read one line (without its newline) into *out (malloc'd) after printing
 * prompt. Returns 1, 0 at EOF, -1 when Ctrl-C dropped the line. */
static int repl_readline(const char *prompt, char **out)
{
#ifdef SQ_HAVE_READLINE
    if (repl_use_readline)
        return repl_rl_read(prompt, out);
#endif
    size_t cap = 0;
    char *line = NULL;
    fputs(prompt, stdout);
    fflush(stdout);
    repl_sigint_pending = 0;
    ssize_t n = getline(&line, &cap, stdin);
    if (n < 0) {
        free(line);
        if (repl_sigint_pending || errno == EINTR) {
            clearerr(stdin);
            fputs("\n", stdout);
            return -1;
        }
        return 0;
    }
    if (n > 0 && line[n - 1] == '\n')
        line[n - 1] = '\0';
    *out = line;
    return 1;
}

/* Remember a complete chunk in the history (readline only). */
static void repl_saveline(const char *chunk)
{
#ifdef SQ_HAVE_READLINE
    if (repl_use_readline && chunk[0] != '\0')
        repl_rl_save(chunk);
#else
    (void)chunk;
#endif
}

/* tostring(_PROMPT or _PROMPT2), nil when unset (lua_CFunction: the
 * global's name at 1). */
static int repl_prompt_value(lua_State *L)
{
    if (lua_getglobal(L, lua_tostring(L, 1)) == LUA_TNIL)
        return 1;
    luaL_tolstring(L, -1, NULL);
    return 1;
}

/* The prompt: tostring of _PROMPT / _PROMPT2 (any value, __tostring runs
 * protected and interruptible; an error is reported), else the defaults (stack: +1). */
static const char *repl_prompt(lua_State *L, int first)
{
    lua_pushcfunction(L, repl_prompt_value);
    lua_pushstring(L, first ? "_PROMPT" : "_PROMPT2");
    int status = repl_pcall(L, 1, 1, 0);
    if (status == LUA_OK && lua_type(L, -1) == LUA_TSTRING)
        return lua_tostring(L, -1);
    if (status != LUA_OK)
        repl_report(L, status);
    else
        lua_pop(L, 1);
    lua_pushstring(L, first ? REPL_PROMPT : REPL_PROMPT2);
    return lua_tostring(L, -1);
}

/* Read a line and push it as a string. Returns 1, 0 at EOF, -1 on Ctrl-C (stack: +1 or 0). */
static int repl_pushline(lua_State *L, int first)
{
    char *line = NULL;
    int r = repl_readline(repl_prompt(L, first), &line);
    lua_pop(L, 1);
    if (r <= 0)
        return r;
    if (first && line[0] == '=') /* "=expr" as in Lua 5.1..5.3 */
        lua_pushfstring(L, "return %s", line + 1);
    else
        lua_pushstring(L, line);
    free(line);
    return 1;
}

/* Whether the load error at the top says the chunk merely ended early
 * (pops the message when it does). */
static int repl_incomplete(lua_State *L, int status)
{
    size_t len, mark = sizeof REPL_EOFMARK - 1;
    if (status != LUA_ERRSYNTAX)
        return 0;
    const char *msg = lua_tolstring(L, -1, &len);
    if (len < mark || strcmp(msg + len - mark, REPL_EOFMARK) != 0)
        return 0;
    lua_pop(L, 1);
    return 1;
}

/* Try the line at the top as "return <line>;" so expressions print
 * (stack: line replaced by the function on success, else unchanged). */
static int repl_try_return(lua_State *L)
{
    const char *line = lua_tostring(L, -1);
    const char *code = lua_pushfstring(L, "return %s;", line);
    int status = luaL_loadbuffer(L, code, strlen(code), "=stdin");
    if (status == LUA_OK) {
        lua_remove(L, -2); /* the "return" text */
        repl_saveline(line);
        lua_remove(L, -2); /* the line */
    } else {
        lua_pop(L, 2);
    }
    return status;
}

/* Whether c may be part of a Lua name. */
static int repl_namechar(char c)
{
    return c == '_' || (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9');
}

/* Skip spaces and tabs and newlines. */
static const char *repl_skipspace(const char *p)
{
    while (*p == ' ' || *p == '\t' || *p == '\n' || *p == '\r')
        p++;
    return p;
}

/* Where the chunk continues without its leading "local" when it starts
 * with `local function NAME` or `local NAME, ... = ` (no attributes); NULL
 * otherwise. Such a chunk is run without the "local", so the names stay
 * for the following lines (the REPL's one deviation from lua(1)). */
static const char *repl_unlocal(const char *chunk)
{
    const char *p = repl_skipspace(chunk);
    if (strncmp(p, "local", 5) != 0 || repl_namechar(p[5]))
        return NULL;
    const char *body = repl_skipspace(p + 5), *q = body;
    if (strncmp(q, "function", 8) == 0 && !repl_namechar(q[8]))
        return body;
    for (;;) {
        if (!repl_namechar(*q) || (*q >= '0' && *q <= '9'))
            return NULL;
        while (repl_namechar(*q))
            q++;
        q = repl_skipspace(q);
        if (*q != ',')
            break;
        q = repl_skipspace(q + 1);
    }
    return q[0] == '=' && q[1] != '=' ? body : NULL;
}

/* Load a complete chunk, a top-level `local` turned global (stack: +1). */
static int repl_loadchunk(lua_State *L, const char *chunk, size_t len)
{
    const char *body = repl_unlocal(chunk);
    if (body && luaL_loadbuffer(L, body, len - (size_t)(body - chunk), "=stdin") == LUA_OK)
        return LUA_OK;
    if (body)
        lua_pop(L, 1);
    return luaL_loadbuffer(L, chunk, len, "=stdin");
}

/* Read further lines while the chunk is incomplete. Returns the load
 * status with the function or error message on top, or -1 when Ctrl-C or
 * EOF abandoned the chunk (stack: line replaced by the result). */
static int repl_multiline(lua_State *L)
{
    for (;;) {
        size_t len;
        const char *chunk = lua_tolstring(L, 1, &len);
        int status = repl_loadchunk(L, chunk, len);
        if (!repl_incomplete(L, status)) {
            repl_saveline(chunk);
            lua_remove(L, 1);
            return status;
        }
        int r = repl_pushline(L, 0);
        if (r <= 0) {
            if (r == 0) { /* EOF inside a chunk: report the syntax error */
                chunk = lua_tolstring(L, 1, &len);
                status = luaL_loadbuffer(L, chunk, len, "=stdin");
                lua_remove(L, 1);
                return status;
            }
            lua_settop(L, 0);
            return -1;
        }
        lua_pushliteral(L, "\n");
        lua_insert(L, -2);
        lua_concat(L, 3);
    }
}

/* Read and compile one chunk. Returns its load status with the function or
 * error on the stack, -1 at EOF, -2 when Ctrl-C dropped the input (stack: +1 or 0). */
static int repl_loadline(lua_State *L)
{
    lua_settop(L, 0);
    int r = repl_pushline(L, 1);
    if (r <= 0)
        return r == 0 ? -1 : -2;
    int status = repl_try_return(L);
    if (status == LUA_OK)
        return status;
    status = repl_multiline(L);
    return status == -1 ? -2 : status;
}

/* The interactive loop: read, run, print until EOF (Ctrl-D). */
static void repl_loop(lua_State *L)
{
    int status;
#ifdef SQ_HAVE_READLINE
    if (repl_use_readline)
        repl_rl_init();
#endif
    if (luaL_loadstring(L, repl_show_src) != LUA_OK || lua_pcall(L, 0, 1, 0) != LUA_OK) {
        repl_report(L, LUA_ERRRUN);
        return;
    }
    lua_setfield(L, LUA_REGISTRYINDEX, "squint.repl.show");
    repl_catch_sigint();
    while ((status = repl_loadline(L)) != -1) {
        if (status == -2)
            continue;
        if (status == LUA_OK)
            status = repl_docall(L, 0, LUA_MULTRET);
        if (status == LUA_OK)
            repl_print(L);
        else
            repl_report(L, status);
    }
    lua_settop(L, 0);
    fputs("\n", stdout);
    fflush(stdout);
#ifdef SQ_HAVE_READLINE
    if (repl_use_readline)
        repl_rl_done_all();
#endif
}

/* ---- command line ----------------------------------------------------------- */

void sq_repl_usage(FILE *out)
{
    fputs("  squint [options] [script [args]]   run Lua with the squint module as `sq`:\n"
          "    -e CODE     run the string CODE\n"
          "    -l MODULE   require MODULE into the global MODULE\n"
          "    -l G=MODULE require MODULE into the global G\n"
          "    -i          enter the interactive REPL after running the script\n"
          "    -v          print the version\n"
          "    -E          ignore environment variables (LUA_INIT, LUA_PATH, LUA_CPATH)\n"
          "    -W          turn warnings on\n"
          "    -           run standard input as the script (stop handling options)\n"
          "    --          stop handling options\n"
          "  With no script: the REPL on a terminal, else standard input is run.\n",
          out);
}

/* Print the version line of -v and of the REPL banner. */
static void repl_print_version(void)
{
    printf("squint %s (%s)  sq = require \"squint\"; Ctrl-D leaves\n", PACKAGE_VERSION, LUA_RELEASE);
    fflush(stdout);
}

/* lua(1)'s complaint about a bad option, then its usage text, on stderr. */
static void repl_bad_option(const char *opt)
{
    if (opt[1] == 'e' || opt[1] == 'l')
        fprintf(stderr, "%s: '%s' needs argument\n", repl_progname, opt);
    else
        fprintf(stderr, "%s: unrecognized option '%s'\n", repl_progname, opt);
    fprintf(stderr,
            "usage: %s [options] [script [args]]\n"
            "Available options are:\n"
            "  -e stat   execute string 'stat'\n"
            "  -i        enter interactive mode after executing 'script'\n"
            "  -l mod    require library 'mod' into global 'mod'\n"
            "  -l g=mod  require library 'mod' into global 'g'\n"
            "  -v        show version information\n"
            "  -E        ignore environment variables\n"
            "  -W        turn warnings on\n"
            "  --        stop handling options\n"
            "  -         stop handling options and execute stdin\n",
            repl_progname);
    fflush(stderr);
}

enum { REPL_HAS_I = 1, REPL_HAS_V = 2, REPL_HAS_E = 4, REPL_BAD = 8, REPL_HAS_NOENV = 16 };

/* Scan the options; returns flags and sets *script to the index of the
 * script argument (argc when there is none). */
static int repl_collectargs(int argc, char **argv, int *script)
{
    int flags = 0, i;
    for (i = 1; i < argc; i++) {
        const char *a = argv[i];
        if (a[0] != '-' || a[1] == '\0') /* script name, or "-" for stdin */
            break;
        if (strcmp(a, "--") == 0) {
            i++;
            break;
        } else if (strcmp(a, "-i") == 0) {
            flags |= REPL_HAS_I | REPL_HAS_V;
        } else if (strcmp(a, "-v") == 0) {
            flags |= REPL_HAS_V;
        } else if (strcmp(a, "-E") == 0) {
            flags |= REPL_HAS_NOENV;
        } else if (strcmp(a, "-W") == 0) {
            continue;
        } else if (strcmp(a, "-e") == 0 || strcmp(a, "-l") == 0) {
            if (a[1] == 'e')
                flags |= REPL_HAS_E;
            if (++i >= argc || argv[i][0] == '-') {
                repl_bad_option(a);
                *script = i;
                return REPL_BAD;
            }
        } else if ((a[1] == 'e' || a[1] == 'l') && a[2] != '\0') {
            if (a[1] == 'e') /* -eCODE / -lMODULE, as lua(1) accepts */
                flags |= REPL_HAS_E;
        } else {
            repl_bad_option(a);
            *script = i;
            return REPL_BAD;
        }
    }
    *script = i;
    return flags;
}

/* Build the global `arg`: arg[0] the script, positive indices its
 * arguments, negative ones the interpreter and options (stack: 0). */
static void repl_createargtable(lua_State *L, int argc, char **argv, int script)
{
    if (script == argc)
        script = 0;
    lua_createtable(L, argc - script - 1 > 0 ? argc - script - 1 : 0, script + 1);
    for (int i = 0; i < argc; i++) {
        lua_pushstring(L, argv[i]);
        lua_rawseti(L, -2, i - script);
    }
    lua_setglobal(L, "arg");
}

/* Run -e and -l options in order (stack: 0). Returns 0 when one failed. */
static int repl_runargs(lua_State *L, char **argv, int n)
{
    for (int i = 1; i < n; i++) {
        const char *a = argv[i];
        if (strcmp(a, "-W") == 0)
            lua_warning(L, "@on", 0);
        if (a[0] != '-' || (a[1] != 'e' && a[1] != 'l'))
            continue;
        const char *extra = a[2] ? a + 2 : argv[++i];
        int status = a[1] == 'e' ? repl_dostring(L, extra, "=(command line)") : repl_dolibrary(L, extra);
        if (status != LUA_OK)
            return 0;
    }
    return 1;
}

/* Push arg[1..#arg] (the script's ..., as the -e code may have left arg);
 * raises an error when arg is not a table (stack: +n). */
static int repl_pushargs(lua_State *L)
{
    if (lua_getglobal(L, "arg") != LUA_TTABLE)
        luaL_error(L, "'arg' is not a table");
    int n = (int)luaL_len(L, -1);
    luaL_checkstack(L, n + 3, "too many arguments to script");
    for (int i = 1; i <= n; i++)
        lua_rawgeti(L, -i, i);
    lua_remove(L, -n - 1);
    return n;
}

/* Run the script argv[script] (or stdin for "-") with the remaining
 * arguments as its ... (stack: 0). */
static int repl_handle_script(lua_State *L, char **argv, int argc, int script)
{
    const char *fname = argv[script];
    if (strcmp(fname, "-") == 0 && (script == 0 || strcmp(argv[script - 1], "--") != 0))
        fname = NULL;
    (void)argc;
    int status = luaL_loadfile(L, fname);
    if (status == LUA_OK) {
        int n = repl_pushargs(L);
        status = repl_docall(L, n, LUA_MULTRET);
    }
    return repl_report(L, status);
}

/* Open the standard libraries and squint (global `sq`) (stack: 0). */
static void repl_openlibs(lua_State *L)
{
    luaL_openlibs(L);
    luaL_requiref(L, "squint", luaopen_squint, 0);
    lua_setglobal(L, "sq");
}

/* The protected main: argv in light userdata (stack: +1 boolean result). */
static int repl_pmain(lua_State *L)
{
    int argc = (int)lua_tointeger(L, 1);
    char **argv = lua_touserdata(L, 2);
    int script;
    int flags = repl_collectargs(argc, argv, &script);
    if (flags & REPL_BAD) {
        lua_pushinteger(L, 1);
        return 1;
    }
    if (flags & REPL_HAS_NOENV) { /* package reads it: LUA_PATH and LUA_CPATH are ignored */
        lua_pushboolean(L, 1);
        lua_setfield(L, LUA_REGISTRYINDEX, "LUA_NOENV");
    }
    repl_openlibs(L);
    repl_createargtable(L, argc, argv, script);
    lua_gc(L, LUA_GCGEN, 0, 0);
    if (flags & REPL_HAS_V)
        repl_print_version();
    if (!(flags & REPL_HAS_NOENV) && repl_luainit(L) != LUA_OK) {
        lua_pushinteger(L, 1);
        return 1;
    }
    int ok = repl_runargs(L, argv, script);
    if (ok && script < argc)
        ok = repl_handle_script(L, argv, argc, script) == LUA_OK;
    if (!ok) {
        lua_pushinteger(L, 1);
        return 1;
    }
    if (flags & REPL_HAS_I) {
        repl_loop(L);
    } else if (script == argc && !(flags & (REPL_HAS_E | REPL_HAS_V))) {
        if (isatty(STDIN_FILENO)) {
            repl_print_version();
            repl_loop(L);
        } else if (repl_dofile(L, NULL) != LUA_OK) {
            lua_pushinteger(L, 1);
            return 1;
        }
    }
    lua_pushinteger(L, 0);
    return 1;
}

int sq_repl_main(int argc, char **argv)
{
    lua_State *L = luaL_newstate();
    if (L == NULL) {
        repl_message("cannot create state: not enough memory");
        return EXIT_FAILURE;
    }
    repl_L = L;
    if (argc > 0 && argv[0] && argv[0][0])
        repl_progname = argv[0];
#ifdef SQ_HAVE_READLINE
    repl_use_readline = isatty(STDIN_FILENO);
#endif
    lua_pushcfunction(L, repl_pmain);
    lua_pushinteger(L, argc);
    lua_pushlightuserdata(L, argv);
    int status = lua_pcall(L, 2, 1, 0);
    int rc = status == LUA_OK ? (int)lua_tointeger(L, -1) : 1;
    repl_report(L, status);
    lua_close(L);
    return rc;
}
