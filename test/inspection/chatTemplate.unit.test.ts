// Chat templates are rendered by jinja2 elsewhere (transformers, llama-cpp-python, servers): a
// template that reaches Python objects through attribute access runs code there. Real templates
// (written here in the style of Llama 3, ChatML/Qwen, Mistral and Gemma) must pass untouched.
import { describe, expect, it } from "vitest";
import { checkChatTemplate } from "../../src/inspection/chatTemplate.ts";
import { inspectGguf } from "../../src/inspection/gguf.ts";
import { BufferSource } from "../../src/inspection/io.ts";
import { inspectTokenizerJson } from "../../src/inspection/tokenizer.ts";
import { computeVerdict, DEFAULT_LIMITS, Scan } from "../../src/inspection/verdict.ts";

function findings(template: string): string[] {
  const scan = new Scan(DEFAULT_LIMITS);
  checkChatTemplate(scan, template, "t");
  return scan.findings.map((f) => `${f.severity} ${f.message}`);
}

const LLAMA3 = `{{- bos_token }}
{%- if messages[0]['role'] == 'system' %}
    {%- set system_message = messages[0]['content']|trim %}
    {%- set messages = messages[1:] %}
{%- else %}
    {%- set system_message = "" %}
{%- endif %}
{{- "<|start_header_id|>system<|end_header_id|>\\n\\n" }}
{{- "Today Date: " + strftime_now("%d %b %Y") + "\\n\\n" }}
{{- system_message + "<|eot_id|>" }}
{%- for message in messages %}
    {%- if not (message.role == 'ipython' or message.role == 'tool' or 'tool_calls' in message) %}
        {{- '<|start_header_id|>' + message['role'] + '<|end_header_id|>\\n\\n'+ message['content'] | trim + '<|eot_id|>' }}
    {%- elif 'tool_calls' in message %}
        {%- set tool_call = message.tool_calls[0].function %}
        {{- '{"name": "' + tool_call.name + '", "parameters": ' }}{{- tool_call.arguments | tojson }}{{- "}<|eot_id|>" }}
    {%- else %}
        {%- if message.content is mapping %}{{- message.content | tojson }}{%- else %}{{- message.content }}{%- endif %}
    {%- endif %}
{%- endfor %}
{%- if add_generation_prompt %}{{- '<|start_header_id|>assistant<|end_header_id|>\\n\\n' }}{%- endif %}`;

const CHATML = `{%- if messages[0].role == 'system' %}
    {{- '<|im_start|>system\\n' + messages[0].content + '<|im_end|>\\n' }}
{%- endif %}
{%- set ns = namespace(multi_step_tool=true, last_query_index=messages|length - 1) %}
{%- for message in messages[::-1] %}
    {%- set index = (messages|length - 1) - loop.index0 %}
    {%- if ns.multi_step_tool and message.role == "user" and not(message.content.startswith('<tool_response>')) %}
        {%- set ns.multi_step_tool = false %}
        {%- set ns.last_query_index = index %}
    {%- endif %}
{%- endfor %}
{%- for message in messages %}
    {%- if message.role == "assistant" %}
        {%- set content = message.content.split('</think>')[-1].lstrip('\\n') %}
        {{- '<|im_start|>' + message.role + '\\n' + content }}
        {%- for tool_call in message.tool_calls or [] %}
            {{- '\\n<tool_call>\\n{"name": "' }}{{- tool_call.function.name }}{{- '", "arguments": ' }}{{- tool_call.function.arguments | tojson }}{{- '}\\n</tool_call>' }}
        {%- endfor %}
        {{- '<|im_end|>\\n' }}
    {%- elif message.role == "tool" %}
        {%- if (loop.index0 == 0) or (messages[loop.index0 - 1].role != "tool") %}{{- '<|im_start|>user' }}{%- endif %}
        {{- '\\n<tool_response>\\n' + message.content + '\\n</tool_response>' }}
        {%- if loop.last or (messages[loop.index0 + 1].role != "tool") %}{{- '<|im_end|>\\n' }}{%- endif %}
    {%- else %}
        {{- '<|im_start|>' + message.role + '\\n' + message.content + '<|im_end|>\\n' }}
    {%- endif %}
{%- endfor %}
{%- if add_generation_prompt %}{{- '<|im_start|>assistant\\n' }}{%- endif %}`;

const MISTRAL = `{%- if messages[0]['role'] == 'system' %}
    {%- set system_message = messages[0]['content'] %}
    {%- set loop_messages = messages[1:] %}
{%- else %}
    {%- set loop_messages = messages %}
{%- endif %}
{{- bos_token }}
{%- for message in loop_messages %}
    {%- if (message['role'] == 'user') != (loop.index0 % 2 == 0) %}
        {{- raise_exception('Conversation roles must alternate user/assistant/user/assistant...') }}
    {%- endif %}
    {%- if message['role'] == 'user' %}
        {%- if loop.first and system_message is defined %}
            {{- ' [INST] ' + system_message + '\\n\\n' + message['content'].strip() + ' [/INST]' }}
        {%- else %}
            {{- ' [INST] ' + message['content'].strip() + ' [/INST]' }}
        {%- endif %}
    {%- elif message['role'] == 'assistant' %}
        {{- ' ' + message['content'] | trim + eos_token }}
    {%- else %}
        {{- raise_exception('Only user and assistant roles are supported!') }}
    {%- endif %}
{%- endfor %}`;

const GEMMA = `{{ bos_token }}{%- if messages[0]['role'] == 'system' -%}
{%- set first_user_prefix = messages[0]['content'][0]['text'] + '\\n\\n' -%}{%- set loop_messages = messages[1:] -%}
{%- else -%}{%- set first_user_prefix = "" -%}{%- set loop_messages = messages -%}{%- endif -%}
{# the model speaks as "model"; {{ this }} is a comment #}
{%- for message in loop_messages -%}
{%- set role = "model" if message['role'] == 'assistant' else message['role'] -%}
{{ '<start_of_turn>' + role + '\\n' + (first_user_prefix if loop.first else "") }}
{%- if message['content'] is string -%}{{ message['content'] | trim }}
{%- else -%}{%- for item in message['content'] | selectattr('type', 'equalto', 'text') -%}{{ item['text'] | trim }}{%- endfor -%}
{%- endif -%}{{ '<end_of_turn>\\n' }}{%- endfor -%}
{%- if add_generation_prompt -%}{{ '<start_of_turn>model\\n' }}{%- endif -%}
{% raw %}{{ not a tag }}{% endraw %}`;

const HOSTILE = `{% for c in ()['__cla'~'ss__'].mro()[1]['__subcla'~'sses__']() %}{% if c.__name__ == 'catch_warnings' %}{{ c()._module['__buil'~'tins__']['__imp'~'ort__']('o'~'s')['po'~'pen']('echo PWNED').read() }}{% endif %}{% endfor %}`;

const PRESENT = "INFO Chat template present; treated as untrusted text and never rendered";

describe("chat templates", () => {
  it.each([
    ["Llama 3", LLAMA3],
    ["ChatML / Qwen", CHATML],
    ["Mistral", MISTRAL],
    ["Gemma", GEMMA],
  ])("a %s style template is only noted", (_, template) => {
    expect(findings(template)).toEqual([PRESENT]);
  });

  it.each([
    [
      "names assembled with ~ in a subscript",
      HOSTILE,
      `"['__cla'~'ss__']" (a subscript key that is not a plain literal)`,
    ],
    ["|attr", "{{ messages|attr('__class__') }}", `"|attr("`],
    ["|attr with spaces", "{{ messages | attr ( name ) }}", `"|attr"`],
    ["names assembled with + in a subscript", "{{ ()['_'+'_class__'] }}", `"['_'+'_class__']"`],
    ["lipsum.__globals__", "{{ lipsum.__globals__ }}", `"lipsum"`],
    ["cycler.__init__.__globals__", "{{ cycler.__init__.__globals__ }}", `"cycler"`],
    ["a private attribute", "{{ loop._iterator }}", `"_iterator" (a name starting with "_")`],
    ["a private attribute as a key", "{{ ()['mro'] }}", `"['mro']" (a subscript naming a private attribute)`],
    [
      "an escaped underscore",
      "{{ x.pop('\\x5f\\x5fclass\\x5f\\x5f') }}",
      `(a string naming an attribute starting with "_")`,
    ],
    [
      "a key held in a variable",
      "{% set k = 'a_'[1:] * 2 ~ 'class' %}{{ ()[k] }}",
      `"[k]" (a subscript key that is not a plain literal)`,
    ],
    ["an attribute name held in a variable", "{{ messages|map(attribute=k)|list }}", `"|map(attribute=k)"`],
    ["a frame attribute", "{{ (messages|map('trim')).gi_frame.f_globals }}", `".gi_frame"`],
    ["code after a fake {% endraw %}", "{% raw %}{{ '{% endraw %}{{ ().mro() }}", `".mro"`],
    ["an included template", "{% include 'x' %}", `"{% include" (loads another template)`],
  ])("flags %s", (_, template, what) => {
    const [first, ...rest] = findings(template);
    expect(rest).toEqual([]);
    expect(first).toMatch(/^HIGH Chat template contains /);
    expect(first).toContain(what);
    expect(first).toMatch(/, a template-injection pattern$/);
  });

  it("an unterminated tag or string cannot be checked and is reported", () => {
    expect(findings("{{ 'open")).toEqual([
      expect.stringMatching(/^MEDIUM Chat template is not well-formed Jinja/),
    ]);
    expect(findings(`{{ ${"(".repeat(100)} }}`)).toEqual([expect.stringMatching(/^MEDIUM /)]);
  });

  it("a hostile template in tokenizer_config.json is flagged too", () => {
    const scan = new Scan(DEFAULT_LIMITS);
    inspectTokenizerJson({ tokenizer_class: "LlamaTokenizer", chat_template: HOSTILE }, scan, "c.json", 1);
    expect(computeVerdict(scan.findings)).toBe("DANGEROUS");
  });

  // Sized so that a reading that rescanned the template per subscript would pass the test timeout.
  it("a long hostile-looking template is read in one pass", () => {
    const template = `{{ x${"['a'~'b']".repeat(50_000)} }}{{ ${"[(".repeat(30)}${")]".repeat(30)} }}`;
    expect(findings(template)[0]).toMatch(/^HIGH /);
    expect(findings(`{{ ${"x[1] ".repeat(50_000)}}}`)).toEqual([PRESENT]);
  });
});

/** A GGUF v3 file: header, string/u32/u64 metadata, tensor infos; `data` bytes after the aligned header. */
function gguf(
  kv: [key: string, type: number, value: Buffer][],
  tensors: [name: string, elements: number][],
  data: number,
) {
  const str = (s: string) => {
    const b = Buffer.from(s);
    const n = Buffer.alloc(8);
    n.writeBigUInt64LE(BigInt(b.length));
    return Buffer.concat([n, b]);
  };
  const u32 = (v: number) => {
    const b = Buffer.alloc(4);
    b.writeUInt32LE(v);
    return b;
  };
  const u64 = (v: number | bigint) => {
    const b = Buffer.alloc(8);
    b.writeBigUInt64LE(BigInt(v));
    return b;
  };
  const head = Buffer.concat([
    Buffer.from("GGUF"),
    u32(3),
    u64(tensors.length),
    u64(kv.length),
    ...kv.map(([k, t, v]) => Buffer.concat([str(k), u32(t), v])),
    ...tensors.map(([name, n]) => Buffer.concat([str(name), u32(1), u64(n), u32(0), u64(0)])),
  ]);
  return Buffer.concat([head, Buffer.alloc(32 - (head.length % 32)), Buffer.alloc(data)]);
}
const u32v = (v: number) => {
  const b = Buffer.alloc(4);
  b.writeUInt32LE(v);
  return b;
};
const strv = (s: string) => {
  const b = Buffer.alloc(8);
  b.writeBigUInt64LE(BigInt(Buffer.byteLength(s)));
  return Buffer.concat([b, Buffer.from(s)]);
};

async function inspect(bytes: Buffer) {
  const scan = new Scan(DEFAULT_LIMITS);
  await inspectGguf(new BufferSource(bytes), scan, "m.gguf").catch((error: unknown) =>
    scan.fail(error, "m.gguf"),
  );
  return {
    verdict: computeVerdict(scan.findings),
    messages: scan.findings.map((f) => `${f.severity} ${f.message}`),
  };
}

describe("GGUF", () => {
  it("a hostile chat template makes the file dangerous", async () => {
    const r = await inspect(gguf([["tokenizer.chat_template", 8, strv(HOSTILE)]], [], 0));
    expect(r.verdict).toBe("DANGEROUS");
  });

  it.each([
    ["zero", 4, u32v(0)],
    ["not a power of two", 4, u32v(48)],
    ["not a u32", 10, Buffer.alloc(8, 0)],
    ["a float", 6, Buffer.from(new Float32Array([32]).buffer)],
  ])("general.alignment that is %s is a malformed file", async (_, type, value) => {
    // The tensor's 4096 bytes are missing: an alignment the check cannot use must not hide that.
    const r = await inspect(gguf([["general.alignment", type, value]], [["w", 1024]], 0));
    expect(r.verdict).toBe("UNSCANNABLE");
    expect(r.messages).toContainEqual(
      expect.stringMatching(
        /^MEDIUM Incomplete scan: GGUF general\.alignment .* is not a u32 non-zero power of two$/,
      ),
    );
  });

  it("a huge power-of-two alignment is accepted and the truncation still seen", async () => {
    const r = await inspect(gguf([["general.alignment", 4, u32v(2 ** 31)]], [["w", 1]], 4));
    expect(r.messages).toContainEqual(
      expect.stringMatching(/^MEDIUM Incomplete scan: GGUF tensor data needs 2147483652 bytes/),
    );
  });

  it("a power-of-two alignment with all the data is safe", async () => {
    const r = await inspect(gguf([["general.alignment", 4, u32v(32)]], [["w", 1024]], 4096));
    expect(r).toEqual({ verdict: "SAFE", messages: [] });
  });
});
