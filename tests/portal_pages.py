"""Three portal templates around one known plan: what a person reads is the plan, nothing else.

Each page puts the plan's lines (PLAN) inside a template's chrome; every chrome string is listed
in CHROME so tests can measure both the plan characters lost and the chrome characters leaked.
"""

from __future__ import annotations

from html import escape

PLAN = [
    "青禾县实验小学2024学年第一学期工作计划",
    "一、指导思想",
    "坚持立德树人根本任务，以提升教育教学质量为中心，推进学校内涵发展。",
    "二、主要工作",
    "（一）加强德育工作",
    "1.开展“好习惯伴我成长”主题教育，每月评选一次文明班级。",
    "2.2024年10月举办秋季运动会，全员参与，家校共育。",
    "（二）深化课堂改革",
    "3.推进“双减”背景下的作业设计，各教研组每周集体备课一次。",
    "三、保障措施",
    "学校成立工作领导小组，校长任组长，分管副校长具体负责。",
    "青禾县实验小学",
    "2024年8月30日",
]
PUBLISHED = "2024-09-02"

GOV_CHROME = [
    "青禾县人民政府", "政府信息公开", "首页", "信息公开目录",
    "索引号", "11330000MB1234567X/2024-00123", "发布机构", "青禾县教育局", "发文日期", "2024-09-02",
    "主题分类", "教育", "文号", "青教〔2024〕12号", "【打印正文】", "【关闭窗口】",
    "上一篇：青禾县第二小学2024学年工作计划", "下一篇：青禾县城关中学安全工作方案",
    "扫一扫在手机打开当前页",
]
CMS_CHROME = [
    "青禾县实验小学", "学校概况", "新闻动态", "文章来源：教务处", "作者：王老师", "发布时间：2024-09-02 10:20:31",
    "点击数：1268", "【字体：大 中 小】", "【打印本页】", "相关文章", "青禾县实验小学2023学年工作总结",
    "青禾县实验小学德育工作方案", "推荐阅读", "秋季开学典礼隆重举行", "上一篇：开学典礼通知", "下一篇：青禾县实验小学2023学年工作计划",
    "分享到：", "微信", "微博",
]
WECHAT_CHROME = [
    "原创 教务处 青禾实验小学 2024-09-02 08:00 发表于浙江", "阅读原文", "微信扫一扫", "关注该公众号",
    "在看", "写留言", "喜欢此内容的人还喜欢", "青禾县实验小学暑期安全告家长书", "继续滑动看下一个",
]


def _paragraphs(lines: list[str]) -> str:
    return "\n".join(f"<p>{escape(line)}</p>" for line in lines)


def gov_page() -> str:
    """政府信息公开: a property table (索引号, 发布机构, 发文日期 …) above the article, tool bar and pager below."""
    return f"""<!DOCTYPE html><html><head><meta charset="utf-8"><title>{PLAN[0]}</title></head><body>
<div class="top"><img alt=""><span>青禾县人民政府</span></div>
<div class="location">政府信息公开 &gt; 信息公开目录</div>
<div class="container"><div class="xxgk">
<table class="xxgk-table">
<tr><td>索引号：</td><td>11330000MB1234567X/2024-00123</td><td>发布机构：</td><td>青禾县教育局</td></tr>
<tr><td>发文日期：</td><td>2024-09-02</td><td>主题分类：</td><td>教育</td></tr>
<tr><td>文号：</td><td>青教〔2024〕12号</td><td></td><td></td></tr>
</table>
<h1 class="title">{escape(PLAN[0])}</h1>
<div class="zoom">{_paragraphs(PLAN[1:])}</div>
<div class="tools"><a>【打印正文】</a> <a>【关闭窗口】</a></div>
<div class="fy"><p>上一篇：<a href="/a/1">青禾县第二小学2024学年工作计划</a></p>
<p>下一篇：<a href="/a/2">青禾县城关中学安全工作方案</a></p></div>
<div class="ewm">扫一扫在手机打开当前页</div>
</div></div>
<div class="bottom">首页</div>
</body></html>"""


def cms_page() -> str:
    """A school CMS article: property line with 文章来源 and 点击数, a 相关文章 / 推荐阅读 sidebar, a pager."""
    return f"""<!DOCTYPE html><html><head><meta charset="utf-8"><title>{PLAN[0]}</title></head><body>
<div id="head"><div class="logo">青禾县实验小学</div></div>
<div id="menu"><a>学校概况</a><a>新闻动态</a></div>
<div class="main">
 <div class="left">
  <div class="art-title"><h2>{escape(PLAN[0])}</h2></div>
  <div class="art-info">文章来源：教务处&nbsp;&nbsp;&nbsp;作者：王老师&nbsp;&nbsp;发布时间：2024-09-02 10:20:31
   &nbsp;&nbsp;点击数：1268 &nbsp;【字体：<a>大</a> <a>中</a> <a>小</a>】 【打印本页】</div>
  <div class="art-body">{_paragraphs(PLAN[1:])}</div>
  <div class="art-nav"><div>上一篇：<a>开学典礼通知</a></div>
  <div>下一篇：<a>青禾县实验小学2023学年工作计划</a></div></div>
  <div class="bshare">分享到：<a>微信</a> <a>微博</a></div>
 </div>
 <div class="right">
  <div class="box"><h3>相关文章</h3><ul><li><a>青禾县实验小学2023学年工作总结</a></li>
   <li><a>青禾县实验小学德育工作方案</a></li></ul></div>
  <div class="box"><h3>推荐阅读</h3><ul><li><a>秋季开学典礼隆重举行</a></li></ul></div>
 </div>
</div>
</body></html>"""


def wechat_page() -> str:
    """A saved 公众号 article: a byline under the title, 阅读原文 / 在看 / 写留言 and a 喜欢此内容 list below."""
    body = "\n".join(f"<section><span>{escape(line)}</span></section>" for line in PLAN[1:])
    return f"""<!DOCTYPE html><html><head><meta charset="utf-8"><title>{PLAN[0]}</title></head><body>
<div id="js_article" class="rich_media"><div class="rich_media_inner">
<h1 class="rich_media_title">{escape(PLAN[0])}</h1>
<div class="rich_media_meta_list"><span>原创</span> <span>教务处</span> <a>青禾实验小学</a>
 <em>2024-09-02 08:00</em> <em>发表于浙江</em></div>
<div class="rich_media_content" id="js_content">{body}</div>
<div class="rich_media_tool"><a>阅读原文</a></div>
<div class="qr_code_pc"><p>微信扫一扫</p><p>关注该公众号</p></div>
<div><span>在看</span> <span>写留言</span></div>
<div class="like_list"><p>喜欢此内容的人还喜欢</p><p>青禾县实验小学暑期安全告家长书</p></div>
<div>继续滑动看下一个</div>
</div></div></body></html>"""


TEMPLATES = {"gov": gov_page, "cms": cms_page, "wechat": wechat_page}
TEMPLATE_CHROME = {"gov": GOV_CHROME, "cms": CMS_CHROME, "wechat": WECHAT_CHROME}
