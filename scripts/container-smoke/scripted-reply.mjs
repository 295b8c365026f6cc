// The fixed reply of the smoke test's upstream: a monologue in a ```thinking
// fence, then the answer. The checks expect the proxy to strip the fence for
// the intern-doctor alias (thinking: strip in the bundled config).
export const THINKING = '容器里第一次值夜班，先确认健康检查是绿的，再去看病人。';
export const ANSWER = '（把笔放回口袋）“您好，我是今晚的值班医生，我姓林。”';
export const REPLY_TEXT = `\`\`\`thinking\n${THINKING}\n\`\`\`\n\n${ANSWER}`;
