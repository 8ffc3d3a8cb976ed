"""Words and numbers for people: the dashboard's labels in Chinese and English, and number,
money and date formatting for each language."""

from __future__ import annotations

import datetime as dt
import math

import pandas as pd

from chengxin import config

LANGS = ("zh", "en")

# GB/T 4754-2017 sections (行业门类).
SECTIONS = {
    "A": ("农、林、牧、渔业", "agriculture, forestry, fishing"), "B": ("采矿业", "mining"),
    "C": ("制造业", "manufacturing"), "D": ("电力、热力、燃气及水生产和供应业", "utilities"),
    "E": ("建筑业", "construction"), "F": ("批发和零售业", "wholesale and retail"),
    "G": ("交通运输、仓储和邮政业", "transport and logistics"), "H": ("住宿和餐饮业", "hotels and catering"),
    "I": ("信息传输、软件和信息技术服务业", "information technology"), "J": ("金融业", "finance"),
    "K": ("房地产业", "real estate"), "L": ("租赁和商务服务业", "leasing and business services"),
    "M": ("科学研究和技术服务业", "research and technical services"),
    "N": ("水利、环境和公共设施管理业", "water, environment, public facilities"),
    "O": ("居民服务、修理和其他服务业", "household and repair services"), "P": ("教育", "education"),
    "Q": ("卫生和社会工作", "health and social work"), "R": ("文化、体育和娱乐业", "culture, sport, entertainment"),
    "S": ("公共管理、社会保障和社会组织", "public administration"),
}

TEXT: dict[str, tuple[str, str]] = {
    "app_title": ("诚信 · 公共信用评价平台", "Chengxin · public credit rating"),
    "language": ("语言 Language", "Language 语言"),
    "login": ("登录", "Sign in"), "logout": ("退出登录", "Sign out"), "username": ("用户名", "User name"),
    "password": ("密码", "Password"), "login_failed": ("用户名或密码错误", "Wrong user name or password"),
    "login_locked": ("登录失败次数过多，请稍后再试。", "Too many failed sign-ins: try again later."),
    "signed_in_as": ("当前用户", "Signed in as"), "public_visitor": ("公众访客（未登录）", "Public visitor (not signed in)"),
    "role": ("角色", "Role"),
    # pages
    "page_overview": ("总览", "Overview"), "page_lookup": ("信用查询", "Credit lookup"),
    "page_warning": ("风险预警", "Early warning"), "page_criteria": ("评级标准", "Rating criteria"),
    "page_models": ("模型与监测", "Models & monitoring"), "page_coverage": ("数据归集", "Data coverage"),
    "page_publication": ("评价结果公示", "Ratings publication"), "page_audit": ("查询审计日志", "Audit log"),
    "page_checks": ("信用核查", "Credit checks"),
    # common
    "enterprise": ("企业", "Enterprises"), "individual": ("个人", "Individuals"),
    "subject_type": ("主体类型", "Subject type"), "as_of": ("评价基准日", "Rating date"),
    "county": ("区县", "County"), "industry": ("行业", "Industry"), "tier": ("公共信用等级", "Public tier"),
    "tier_rule": ("直接评级规则", "Tier set by rule"),
    "grade": ("信用等级", "Grade"), "pd": ("违约概率", "Probability of default"), "score": ("评分", "Score"),
    "name": ("名称", "Name"), "subject_id": ("统一社会信用代码 / 身份证号", "Credit code / ID number"),
    "subjects": ("主体数", "Subjects"), "share": ("占比", "Share"), "count": ("数量", "Count"),
    "no_data": ("暂无数据", "No data yet"), "download_csv": ("下载 CSV", "Download CSV"),
    "download_xlsx": ("下载 Excel", "Download Excel"), "all": ("全部", "All"),
    "snapshot": ("数据快照", "Data snapshot"),
    "stale": ("已有新发布的评价结果：运行 `chengxin publish dashboard` 后显示。",
              "New ratings have been published: run `chengxin publish dashboard` to show them."),
    "no_snapshot": ("尚无已发布的数据快照。请先运行 `chengxin score` 与 `chengxin publish dashboard`。",
                    "No published snapshot yet. Run `chengxin score`, then `chengxin publish dashboard`."),
    "not_allowed": ("当前角色无权查看此页面。", "Your role may not open this page."),
    # overview
    "tier_distribution": ("公共信用等级分布", "Public tiers"), "grade_distribution": ("信用等级分布（内部主标尺）", "Grades (master scale)"),
    "tiers_by_county": ("各区县等级构成", "Tiers by county"), "tiers_by_industry": ("各行业等级构成", "Tiers by industry"),
    "criteria_in_force": ("现行评价标准", "Criteria in force"), "effective_date": ("生效日期", "Effective date"),
    "version": ("版本", "Version"), "open_alerts": ("待处理预警", "Open alerts"),
    "search_placeholder": ("输入企业名称（汉字或拼音）或统一社会信用代码", "Enterprise name (characters or pinyin) or credit code"),
    "search": ("查询", "Look up"), "rated_subjects": ("已评价主体", "Rated subjects"),
    # lookup
    "lookup_query": ("查询对象", "Who"), "id_search_hint": ("有权限的角色可输入身份证号查询个人（需说明用途，留痕审计）",
                                                     "Permitted roles may enter an ID number to look up an individual (purpose required, audited)"),
    "purpose": ("查询用途（必填，将记入审计日志）", "Purpose of this look-up (required, audited)"),
    "purpose_needed": ("查询个人信息须说明用途。", "Looking up an individual needs a stated purpose."),
    "individuals_not_allowed": ("当前角色不能查询个人信息。", "Your role may not look up individuals."),
    "no_match": ("没有找到匹配的主体。", "No subject matches."), "matches": ("匹配结果", "Matches"),
    "pick": ("选择主体", "Choose a subject"), "reasons": ("主要扣分原因", "Main reasons"),
    "waterfall": ("指标得分（公共信用综合评价分值）", "Indicator points (public evaluation)"),
    "waterfall_caption": ("从满分（各指标最高档分值之和）起，每条为该主体比该指标最高档少得的分数（扣分），"
                          "与主要原因的顺序相同；合计即评价得分。",
                          "From the best total (every indicator's best points), each bar is the points this subject "
                          "is short of that indicator's best, in the order of the main reasons; the total is its "
                          "evaluation points."),
    "waterfall_boosted": ("指标贡献（梯度提升模型，对数几率）", "Contributions (boosted model, log-odds)"),
    "waterfall_boosted_caption": ("从基准对数几率起，红色条增加违约风险，绿色条降低违约风险；合计越高，违约概率越高。",
                                  "From the base log-odds, red bars raise the risk of default and green bars lower it; "
                                  "the higher the total, the higher the PD."),
    "history": ("等级历史", "Grade history"), "records": ("归集记录（按来源）", "Records by source"),
    "repair": ("信用修复路径", "Credit-repair path"), "repair_none": ("暂无可行的修复措施。", "No repair action applies."),
    "repair_unreachable": ("以下措施均无法单独提升一个等级，按效果排列：", "None of these lifts a full grade on its own; by effect:"),
    "months_to_show": ("见效时间（月）", "Months to show"), "measures": ("监管措施", "Measures"),
    "explain_unavailable": ("明细解释暂不可用（数据正在更新），以下为已发布的评价结果。",
                            "The detailed explanation is unavailable right now (data being updated); this is the published rating."),
    "on_lists": ("红黑名单", "Red and black lists"), "base_points": ("基准分", "Base points"), "total": ("合计", "Total"),
    "others": ("其他指标", "Other indicators"), "records_none": ("无记录", "No records"),
    "audited_note": ("本次查询已记入审计日志。", "This look-up was written to the audit log."),
    "tier_only_note": ("公众可查看企业的公共信用等级及其监管措施；评价标准见“评级标准”页。",
                       "The public sees an enterprise's public tier and its measures; the criteria are on the Rating criteria page."),
    "model_changed": ("注意：当前模型版本与发布时不同。", "Note: the current model version differs from the published rating's."),
    # warning desk
    "severity": ("严重程度", "Severity"), "signal": ("预警信号", "Signal"), "status": ("状态", "Status"),
    "alert_queue": ("预警队列", "Alert queue"), "open_alert": ("打开预警", "Open an alert"),
    "evidence": ("证据记录", "Evidence"), "note": ("处理说明", "Note"), "acknowledge": ("确认", "Acknowledge"),
    "close": ("关闭", "Close"), "reopen": ("重新打开", "Reopen"), "notes_history": ("处理记录", "Notes"),
    "migration": ("等级迁移矩阵（上月 → 本月）", "Grade migration (last month → this month)"),
    "risk_map": ("区县 × 行业风险地图（平均违约概率）", "County × industry risk (mean PD)"),
    "saved": ("已保存", "Saved"), "open_individual_alert": ("打开个人预警须说明用途（记入审计日志）",
                                                        "Opening an individual's alert needs a purpose (audited)"),
    "show_closed": ("包括已关闭", "Include closed"),
    # criteria
    "criteria_versions": ("已发布版本", "Published versions"), "changes": ("版本变更", "What changed"),
    "compare_with": ("与此版本比较", "Compare with"), "comment_form": ("公开征求意见", "Public comment"),
    "comment_text": ("您的意见", "Your comment"), "comment_name": ("姓名或单位（选填）", "Name or organisation (optional)"),
    "comment_contact": ("联系方式（选填）", "Contact (optional)"), "submit": ("提交", "Submit"),
    "comment_thanks": ("感谢您的意见，已记录。", "Thank you: your comment is recorded."),
    "showing_first": ("显示前 {n} 行：可筛选，或下载全部", "showing the first {n}: filter, or download them all"),
    "comment_empty": ("请填写意见内容。", "Please write a comment."),
    "comments_paused": ("近一小时收到的意见较多，请稍后再提交。", "Many comments arrived in the last hour: please try again later."),
    "comments_received": ("收到的意见", "Comments received"), "no_criteria": ("尚未发布评价标准。", "No criteria published yet."),
    # models
    "champion": ("冠军模型", "Champion"), "challenger": ("挑战者模型", "Challenger"), "scorecard": ("评分卡（公开标准）", "Scorecard (published)"),
    "calibration": ("分等级校准（样本外）", "Calibration by grade (out of time)"), "roc_ks": ("ROC 与 KS 曲线", "ROC and KS curves"),
    "psi": ("稳定性（PSI，本月对上月）", "Stability (PSI, this month vs last)"), "mlflow_run": ("MLflow 运行记录", "MLflow run"),
    "alert_click": ("点击一行打开该预警", "click a row to open its alert"),
    "alert_reasons": ("预警原因", "Why alerted"),
    "edition": ("第 {n} 版", "edition {n}"),
    "criteria_version_code": ("版本代码 {code}（指标目录版本与模型版本）", "version code {code} (indicator catalogue and model version)"),
    "none_applied": ("本次核查无可选措施", "no measure to choose for this check"),
    "rated_by": ("评价方式", "Rated by"), "monthly_run": ("月度评价", "the monthly run"),
    "rerated_case": ("案件 {case} 决定后重新评价", "re-rated after case {case}"),
    "risk_map_caption": ("每格：未违约企业的平均违约概率，n 为该区县、行业的企业数（含已违约企业）。",
                         "Each cell: the mean PD of the enterprises not in default; n is the county and industry's "
                         "enterprises (those in default included)."),
    "grade_change": ("等级变化", "grade change"),
    "grade_this_month": ("本月等级", "this month's grade"), "grade_last_month": ("上月等级", "last month's grade"),
    "mlflow_open": ("运行记录保存在本平台的 MLflow 库中；管理员启动 MLflow 界面并在设置中填写其地址后，此处即可直接打开（见 docs/models.md）。",
                    "The runs are kept in the platform's MLflow store; once an admin starts the MLflow UI and sets its "
                    "address, they open from here (see docs/models.md)."),
    "metrics": ("样本外指标", "Out-of-time metrics"),
    "false_positive_rate": ("误报率（未违约主体被标记的比例）", "False positive rate (non-defaults flagged)"),
    "true_positive_rate": ("命中率（违约主体被标记的比例）", "True positive rate (defaults caught)"),
    "defaults_caught": ("违约命中", "defaults caught"), "non_defaults_flagged": ("非违约误报", "non-defaults flagged"),
    "share_flagged": ("按违约概率从高到低标记的主体比例", "Share of subjects flagged, highest PD first"),
    # coverage
    "completeness": ("上报完整率（部门 × 区县）", "Upload completeness (department × county)"),
    "late_publication": ("双公示超期公示", "Late double-publicity publications"), "months_missing": ("缺报月数", "Months missing"),
    "department": ("部门", "Department"), "month": ("月份", "Month"),
    # publication
    "public_list": ("公共信用评价结果", "Public ratings list"), "red_list": ("守信红名单", "Red list"),
    "black_list": ("失信黑名单", "Black list"), "start": ("列入日期", "Listed on"), "ends": ("到期 / 移出日期", "Expires / ended"),
    "rule": ("认定依据", "Basis"), "filter_name": ("按名称筛选", "Filter by name"),
    "measure_catalogue": ("联合奖惩措施清单", "Measure catalogue"), "code": ("代码", "Code"),
    "effect": ("类型", "Effect"), "basis": ("法律依据", "Legal basis"), "rules": ("触发的名单认定", "Triggered by"),
    "actions": ("适用事项", "Applies to"),
    # credit checks
    "check_subject": ("主体代码（统一社会信用代码或身份证号）", "Subject (credit code or resident ID number)"),
    "check_action": ("办理事项", "Decision"), "check_purpose": ("核查用途", "Purpose of the check"),
    "case_ref": ("案卷编号", "Case reference"), "run_check": ("核查", "Check"), "verdict": ("核查结论", "Verdict"),
    "entries": ("名单记录", "List entries"), "incentives": ("守信激励措施", "Incentives"),
    "why": ("适用理由", "Why it applies"), "feedback": ("反馈实施情况", "Report what was applied"),
    "applied": ("已实施的措施", "Measures applied"), "outcome": ("办理结果", "Outcome"),
    "send_feedback": ("提交反馈", "Send"), "feedback_saved": ("反馈已记录。", "Feedback recorded."),
    "check_statistics": ("各部门信用核查统计", "Credit checks by department"),
    "institution": ("单位", "Institution"), "checks_run": ("核查次数", "Checks"),
    "with_entries": ("查得名单记录", "Found entries"), "barred": ("禁止", "Barred"), "restricted": ("限制", "Restricted"),
    "with_feedback": ("已反馈", "With feedback"), "measures_applied": ("实施措施数", "Measures applied"),
    "list": ("名单", "List"), "reference": ("文书编号", "Reference"),
    "check_refused": ("无法核查：{why}", "Cannot check: {why}"),
    "check_needs": ("请填写主体代码、用途和案卷编号。", "Give the subject, the purpose and the case reference."),
    # audit
    "audit_log": ("个人信息查询审计日志", "Audit log of look-ups"), "user": ("用户", "User"), "action": ("操作", "Action"),
    "tier_meaning": ("等级含义", "Tier meaning"), "published_count": ("公示条数", "Published"),
    "late_count": ("超期条数", "Late"), "late_share": ("超期比例", "Late share"), "at": ("时间", "Time"), "purpose_col": ("用途", "Purpose"), "measure": ("指标", "Measure"),
    # cases (objections, credit-repair applications, reviews) and the subject's own page
    "page_cases": ("案件", "Cases"), "page_mine": ("我的信用", "My credit"),
    "case_queue": ("案件队列", "Case queue"), "case_no": ("案件编号", "Case no."), "case_kind": ("案件类型", "Kind"),
    "case_record": ("涉及记录", "Record"), "filed_on": ("受理日期", "Filed on"), "due_on": ("办理期限", "Due on"),
    "days_left": ("剩余天数", "Days left"), "due_soon": ("一个工作日内到期", "Due within a working day"),
    "overdue": ("已超期", "Overdue"), "eligible_from": ("可修复日期", "Eligible from"), "decision": ("处理决定", "Decision"),
    "decided_by": ("决定人", "Decided by"), "decided_for": ("决定部门", "Decided for"), "decided_on": ("决定日期", "Decided on"),
    "overdue_only": ("仅显示已超期", "Overdue only"), "open_cases": ("办理中案件", "Open cases"),
    "cases_due_soon": ("一个工作日内到期", "Due within one working day"), "cases_overdue": ("已超期", "Overdue"),
    "upheld_by_department": ("各提供部门异议成立情况", "Objections upheld per providing department"),
    "provider": ("提供部门", "Providing department"), "decided_count": ("已处理异议", "Objections decided"),
    "upheld": ("异议成立", "Upheld"), "upheld_share": ("成立比例", "Upheld share"),
    "pick_case": ("查看案件", "Open a case"), "case_history": ("办理记录", "History"), "event": ("环节", "Step"),
    "detail": ("详情", "Detail"), "filed_by": ("受理人", "Filed by"), "case_reason": ("申请理由", "Reason"),
    "commitment": ("信用承诺", "Credit commitment"), "extended": ("已延期", "Extended"),
    "eligibility": ("修复条件", "Repair eligibility"),
    "decide_case": ("作出决定", "Decide"), "case_sets": ("修改内容（每行一项：字段=值）", "Changes (one COLUMN=VALUE per line)"),
    "extend_once": ("延期一次（在处理说明中写明理由）", "Extend once (give the reason in the note)"),
    "submit_decision": ("提交决定", "Submit decision"), "note_needed": ("请填写处理说明。", "Write the reasons in the note."),
    "case_decided": ("案件 {case} 已处理：{decision}", "Case {case} decided: {decision}"),
    "case_extended": ("案件 {case} 已延期，办理期限至 {due}", "Case {case} extended: due on {due}"),
    "case_rerated": ("已重新评价：{before} → {after}（用时 {seconds} 秒）", "Re-rated: {before} → {after} ({seconds} s)"),
    "file_case": ("窗口受理", "File a case at the counter"),
    "case_record_input": ("涉及记录（来源与记录编号，如“行政处罚 宝市监罚〔2025〕12号”；对评价结果本身提出异议或复核时留空）",
                          "Record (its source and number, e.g. \"penalty 宝市监罚〔2025〕12号\"; empty for an objection to the rating or a review)"),
    "commitment_input": ("信用承诺（申请信用修复时必填）", "Credit commitment (required for a repair)"),
    "file_submit": ("受理", "File"), "case_filed": ("已受理案件 {case}，办理期限 {due}", "Filed case {case}: due on {due}"),
    "repair_eligible": ("符合信用修复条件。", "Eligible for repair."),
    "repair_not_yet": ("暂不符合信用修复条件：{why}；可于 {date} 起申请。", "Not eligible yet: {why}; eligible from {date}."),
    "subject_needed": ("请填写主体代码。", "Give the subject."),
    "my_cases": ("我的申请", "My cases"), "mine_file": ("提出异议、申请信用修复或人工复核", "Object, apply for credit repair or ask for a review"),
    "mine_no_subject": ("当前账户未关联信用主体。", "This account is not linked to a subject."),
    "the_rating": ("—（评价结果本身）", "— (the rating itself)"),
    "repair_from": ("可申请信用修复日期", "repair from"),
    "verify_upload": ("上传报告文件核验（逐字节比对）", "Upload the report file to verify it (byte for byte)"),
    "in_default": ("已违约", "in default"), "yes": ("是", "yes"), "no": ("否", "no"), "changed_values": ("修改内容", "changed"), "working_days": ("工作日", "working days"), "calendar_days": ("自然日", "calendar days"),
    "case_due_on": ("办理期限至 {due}（按{days}计）", "due on {due} (counted in {days})"),
    "case_flagged_from": ("自 {on} 起标注“异议处理中”", "marked as under objection from {on}"),
    "case_record_versioned": ("记录已按决定写入新版本", "the record got a new version as decided"),
    "verify_by_file": ("上传报告文件", "By the report file"), "verify_by_number": ("输入报告编号与核验码", "By number and code"),
    "choose_file": ("选择文件", "Choose a file"),
    "upload_limit": ("{types} 文件，不超过 {mb} MB", "{types} file, up to {mb} MB"),
    "under_objection": ("异议处理中：{record}（案件 {case}，{since} 起）", "Under objection: {record} (case {case}, since {since})"),
    "restated": ("已因案件决定重新评价（{cause}，{at}）", "Re-rated after a case decision ({cause}, {at})"),
    "grade_override": ("人工调整等级：{grade}（模型等级 {model}；案件 {case}：{reason}）",
                       "Grade set by the office: {grade} (model grade {model}; case {case}: {reason})"),
    # credit reports (issued on the look-up and My credit, verified on the verify page)
    "page_verify": ("核验报告", "Verify a report"),
    "report": ("信用报告", "Credit report"), "report_kind": ("报告类型", "Kind of report"),
    "report_authorization": ("本人授权书编号（出具个人报告必填，将记入审计日志）",
                             "The person's authorization reference (required for an individual's report, audited)"),
    "report_issue": ("出具报告", "Issue the report"), "report_issuing": ("正在生成报告……", "Making the report…"),
    "report_issued": ("已出具报告，报告编号 {number}", "Report issued: number {number}"),
    "report_download": ("下载报告（PDF）", "Download the report (PDF)"),
    "report_free_used": ("本年度已使用免费本人信用报告 {used} 份，共 {total} 份。",
                         "Free reports used this year: {used} of {total}."),
    "report_number": ("报告编号", "Report number"), "report_code": ("验证码", "Verification code"),
    "report_kind_col": ("报告类型", "Kind"), "report_subject": ("报告主体", "Subject"),
    "report_as_of": ("数据截止日期", "Data as of"), "report_issued_at": ("出具时间", "Issued at"),
    "report_sha256": ("文件 SHA-256", "File SHA-256"),
    "verify_submit": ("核验", "Verify"),
    "verify_needs": ("请填写报告编号和验证码。", "Give the report number and the verification code."),
    "report_authentic": ("报告真实有效：平台出具过此编号的报告，验证码一致。",
                         "Authentic: the platform issued a report under this number, and the code matches."),
    "report_sha_note": ("请核对所持文件的 SHA-256 与上表一致（如 `sha256sum 文件名`）：文件改动一个字节即不一致。",
                        "Compare the SHA-256 of the file you hold with the one above (e.g. `sha256sum FILE`): one changed byte makes it differ."),
    "report_unknown": ("报告不存在或已被篡改：平台未出具过此编号和验证码的报告。",
                       "Altered or unknown: the platform issued no report with this number and code."),
    # risk-classified supervision (信用风险分类监管, 双随机、一公开): the inspecting departments' own page
    "page_supervision": ("分类监管", "Supervision"),
    "supervision_note": ("信用风险分类是执法检查部门的内部监管工具：不公开、不作为信用评价、不附带惩戒；"
                         "每一类都按比例参与随机抽查（不免抽）。",
                         "A risk class is the inspecting departments' own tool: not published, not a credit rating, "
                         "no punishment attached; every class keeps its share of the random inspections."),
    "no_classes": ("尚无风险分类：请先运行 `chengxin supervise classify --as-of 日期`。",
                   "No risk classes yet: run `chengxin supervise classify --as-of DATE` first."),
    "no_plan": ("{month} 尚无抽查计划：运行 `chengxin supervise plan --month {month} --budget 户数 --seed 种子 --out 计划.csv` 抽取。",
                "No inspection plan for {month}: draw one with `chengxin supervise plan --month {month} --budget N "
                "--seed S --out PLAN.csv`."),
    "risk_class": ("风险分类", "Risk class"), "risk_score": ("风险分值", "Risk score"),
    "classes_as_of": ("分类基准日", "Classified as of"), "classified_firms": ("已分类企业", "Firms classified"),
    "classes_by_county": ("各区县风险分类构成", "Risk classes by county"),
    "classes_by_industry": ("各行业风险分类构成", "Risk classes by industry"),
    "class_lookup": ("查看企业风险分类", "A firm's risk class"), "class_subject": ("统一社会信用代码", "Unified social credit code"),
    "class_reasons": ("分类原因", "Why"), "risk_signal": ("风险信号", "Signal"), "signal_value": ("信号值", "Value"), "signal_weight": ("权重", "Weight"),
    "signal_points": ("风险分值贡献", "Points"),
    "not_classified": ("该企业没有风险分类（分类基准日不在存续状态，或尚未分类）。",
                       "This firm has no risk class (not live on the classification date, or not classified)."),
    "not_a_firm": ("风险分类只适用于企业：请填写统一社会信用代码。", "Risk classes are for enterprises: give a unified social credit code."),
    "inspection_plan": ("抽查计划", "Inspection plan"), "plan_no": ("计划编号", "Plan no."),
    "seed": ("随机种子", "Seed"), "input_digest": ("抽查名录摘要（哈希值）", "Input list digest (SHA-256)"),
    "inspections": ("检查户数", "Inspections"), "live_firms": ("存续企业", "Live firms"), "strategy": ("抽取方式", "Drawn"),
    "drawn_at": ("抽取时间", "Drawn at"), "firms": ("企业数", "Firms"), "eligible": ("可抽取", "Eligible"), "drawn": ("抽中", "Drawn"),
    "inspection_no": ("检查编号", "Inspection no."), "inspection_date": ("检查日期", "Inspection date"),
    "inspectors": ("执法检查人员", "Inspectors"), "items": ("检查事项", "Items"),
    "plan_results": ("检查结果回传（检查后 {days} 个工作日内公示）", "Results received (due {days} working days after the inspection)"),
    "result": ("检查结果", "Result"), "due_date": ("公示期限", "Due"), "received_date": ("接收日期", "Received"),
    "result_clock": ("时限", "Clock"), "results_received": ("已回传", "Received"), "results_overdue": ("已超期未回传", "Overdue"),
    "hit_rates": ("各风险分类问题发现率（按月）", "Hit rate by risk class, by month"), "hit_rate": ("问题发现率", "Hit rate"),
    "planned": ("计划检查", "Planned"), "problems_found": ("发现问题", "Problems found"), "unreachable": ("无法联系", "Unreachable"),
}

STATUS = {"active": ("有效", "active"), "repaired": ("已修复", "repaired"), "lifted": ("已移出", "lifted"),
          "expired": ("已到期", "expired"), "next evaluation": ("下次评价", "next evaluation"),
          "new": ("新预警", "new"), "acknowledged": ("已确认", "acknowledged"), "closed": ("已关闭", "closed")}
VERDICT = {"clear": ("无限制措施", "no restriction"), "restricted": ("限制", "restricted"), "barred": ("禁止", "barred")}
FINDING = {"no_entries": ("未发现在列的红黑名单记录", "no list entry found"),
           "no_measure_for_action": ("有在列名单记录，但本事项无对应惩戒措施", "listed, but no measure applies to this action"),
           "incentives_only": ("有守信激励措施适用", "only incentives apply"),
           "measures": ("有惩戒措施适用", "measures apply")}
EFFECT = {"bar": ("禁止", "bar"), "restrict": ("限制", "restrict"), "reward": ("激励", "reward")}
SEVERITY = {"high": ("高", "high"), "medium": ("中", "medium"), "low": ("低", "low")}
CASE_KIND = {"objection": ("异议", "objection"), "repair": ("信用修复", "credit repair"), "review": ("人工复核", "review")}
CASE_STATUS = {"open": ("办理中", "open"), "decided": ("已办结", "decided")}
DECISION = {"correct": ("更正", "correct"), "delete": ("删除", "delete"), "add": ("补充记录", "add"),
            "stop_publishing": ("停止公示", "stop publishing"), "remove_from_list": ("移出名单", "remove from list"),
            "reject": ("驳回", "reject"), "approve": ("准予修复", "approve"), "confirm": ("维持", "confirm"),
            "override": ("调整等级", "override")}
MODEL_KIND = {"scorecard": ("评分卡", "scorecard"), "boosted": ("梯度提升树", "boosted trees")}
CALIBRATION = {"platt": ("Platt 逻辑校准", "Platt (logistic)"), "quadratic": ("二次逻辑校准", "quadratic logistic"),
               "isotonic": ("保序回归校准", "isotonic")}
MODEL_COLUMNS = {"alias": ("角色", "Role"), "kind": ("模型", "Model"), "version": ("版本", "Version"),
                 "trained": ("训练时间", "Trained"), "calibration": ("违约概率校准", "PD calibration"),
                 "auc": ("AUC", "AUC"), "gini": ("Gini 系数", "Gini"), "ks": ("KS", "KS"), "brier": ("Brier 分数", "Brier"),
                 "psi_dev_oot": ("稳定性 PSI（开发期对样本外）", "PSI (development vs out of time)"),
                 "grades_within_interval": ("等级违约率落在区间内的比例", "grades within their interval"),
                 "calibration_holds": ("校准检验通过", "calibration holds")}
AUDIT_ACTION = {"lookup": ("查询", "look-up"), "api_lookup": ("接口查询", "API look-up"), "alert": ("查看预警", "alert opened"),
                "explain": ("查看评分解释", "explanation"), "report": ("出具信用报告", "credit report"),
                "watchlist_changes": ("关注名单变动", "watchlist changes"), "risk_class": ("查看风险分类", "risk class"),
                "inspection_plan": ("查看抽查计划", "inspection plan")}
AUDIT_DETAIL = {"as_of": ("评价基准日", "as of"), "endpoint": ("接口", "endpoint"), "institution": ("机构", "institution"),
                "kind": ("报告类型", "report kind"), "number": ("报告编号", "report number"), "years": ("年数", "years"),
                "month": ("月份", "month"), "plan_no": ("计划编号", "plan number")}
# an inspection's result against its 20-working-day clock (一公开), and how a plan was drawn
RESULT_CLOCK = {"on_time": ("按期回传", "on time"), "late": ("超期回传", "late"), "pending": ("待回传", "pending"),
                "overdue": ("超期未回传", "overdue")}
STRATEGY = {"classified": ("按风险分类比例抽取", "by risk class"), "uniform": ("统一比例抽取", "uniform")}
CASE_EVENT = {"filed": ("受理", "filed"), "extended": ("延期", "extended"), "decided": ("决定", "decided"),
              "rerated": ("重新评价", "re-rated")}
NOT_YET = {"already_repaired": ("已修复", "already repaired"),
           "minimum_period_not_passed": ("未满最短公示期", "the minimum publicity period has not passed"),
           "no_commitment": ("未提交信用承诺", "no credit commitment")}


def t(key: str, lang: str = "zh") -> str:
    zh, en = TEXT[key]
    return zh if lang == "zh" else en


# Coded values of records as people read them (reports, look-ups), by column name.
RECORD_VALUES = {
    "entity_type": {"company": ("有限责任公司", "company"), "individual_business": ("个体工商户", "sole trader"),
                    "cooperative": ("农民专业合作社", "cooperative")},
    "status": {"active": ("存续", "active"), "cancelled": ("注销", "cancelled"), "revoked": ("吊销", "revoked")},
    "severity": {"minor": ("轻微", "minor"), "general": ("一般", "general"), "serious": ("严重", "serious"),
                 "none": ("无", "none"), "major": ("较大", "major"), "severe": ("重大", "severe")},
    "action": {"granted": ("准予许可", "granted"), "suspended": ("暂扣", "suspended"), "revoked": ("吊销", "revoked")},
    "event_type": {"civil_judgment": ("民事判决", "civil judgment"), "enforcement_opened": ("执行立案", "enforcement opened"),
                   "enforcement_closed": ("执行结案", "enforcement closed"),
                   "dishonest_listed": ("列入失信被执行人名单", "listed as dishonest debtor"),
                   "dishonest_removed": ("移出失信被执行人名单", "removed from the dishonest debtor list"),
                   "consumption_restriction": ("限制消费", "consumption restriction"),
                   "abnormal_listed": ("列入经营异常名录", "listed for abnormal operations"),
                   "abnormal_removed": ("移出经营异常名录", "removed from abnormal operations"),
                   "serious_dishonest_listed": ("列入严重违法失信名单", "put on the serious illegal-and-dishonest list"),
                   "academic_misconduct": ("学术不端", "academic misconduct"), "accident": ("安全事故", "accident"),
                   "annual_report": ("年度报告公示", "annual report"), "assistance_fraud": ("骗取救助", "assistance fraud"),
                   "bad_conduct": ("不良行为", "bad conduct"), "credit_colour": ("信用等级评定", "credit colour rating"),
                   "debarment": ("禁入", "debarment"), "exceedance": ("超标排放", "emission exceedance"),
                   "hazard": ("安全隐患", "safety hazard"), "inspection": ("监督检查", "inspection"),
                   "penalty": ("行政处罚", "penalty"), "professional_discipline": ("执业处分", "professional discipline")},
    "gender": {"female": ("女", "female"), "male": ("男", "male")},
    "product": {"credit_card": ("信用卡", "credit card"), "loan": ("贷款", "loan"), "guarantee": ("担保", "guarantee")},
    "result": {"fail": ("不合格", "fail"), "pass": ("合格", "pass"), "no_problem": ("未发现问题", "no problem found"),
               "problems_found": ("发现问题", "problems found"), "unreachable": ("无法联系", "could not be reached")},
    "follow_up": {"none": ("无", "none"), "rectify": ("责令整改", "ordered to rectify"), "case_opened": ("立案查处", "case opened"),
                  "abnormal_listing": ("列入经营异常名录", "listed for abnormal operations")},
    "colour": {"black": ("黑", "black"), "blue": ("蓝", "blue"), "green": ("绿", "green"), "red": ("红", "red"),
               "yellow": ("黄", "yellow")},
    "misconduct": {"falsified": ("弄虚作假", "falsified"), "late": ("逾期", "late"), "refused": ("拒绝", "refused")},
    "utility": {"gas": ("燃气", "gas"), "power": ("电力", "power"), "water": ("供水", "water")},
    "violation": {"drunk_driving": ("酒后驾驶", "drunk driving"), "other": ("其他", "other"), "red_light": ("闯红灯", "red light"),
                  "speeding": ("超速", "speeding"), "unlicensed": ("无证驾驶", "unlicensed driving")},
    "subject_type": {"enterprise": ("企业", "enterprise"), "individual": ("个人", "individual")},
    "list": {"black": ("黑名单", "black list"), "red": ("红名单", "red list")},
    "honour": {"a_grade_taxpayer": ("纳税信用A级纳税人", "A-grade taxpayer"), "model_integrity": ("诚信示范企业", "model-integrity enterprise"),
               "award": ("表彰奖励", "award")},
}


def repair_eligibility(elig: dict, lang: str = "zh") -> str:
    """A repair application's eligibility in words: eligible, or why not yet and from when."""
    if elig.get("eligible"):
        return t("repair_eligible", lang)
    why = ("、" if lang == "zh" else ", ").join(word(NOT_YET, w, lang) for w in elig.get("not_yet", []))
    return t("repair_not_yet", lang).format(why=why, date=elig.get("eligible_from"))


def case_event_words(event: str, detail: dict | None, lang: str = "zh") -> str:
    """What a step of a case recorded, in words (the case's history): the deadline a filing set,
    a repair's eligibility, a decision with its note, a new deadline."""
    detail = detail or {}
    sep, colon = ("；", "：") if lang == "zh" else ("; ", ": ")
    parts = []
    due = detail.get("deadline") or {}
    if due.get("due"):
        days = t("working_days", lang) if due.get("days") == "working" else t("calendar_days", lang)
        parts.append(t("case_due_on", lang).format(due=due["due"], days=days))
    if due.get("flag_by"):
        parts.append(t("case_flagged_from", lang).format(on=due["flag_by"]))
    if detail.get("eligibility"):
        parts.append(repair_eligibility(detail["eligibility"], lang))
    if detail.get("decision"):
        parts.append(t("decision", lang) + colon + word(DECISION, detail["decision"], lang))
    if detail.get("for"):
        parts.append(t("decided_for", lang) + colon + str(detail["for"]))
    if event == "extended" and detail.get("due"):
        parts.append(t("case_due_on", lang).format(due=detail["due"], days=t("working_days", lang)))
    if detail.get("sets"):
        sets = detail["sets"]
        parts.append(t("changed_values", lang) + colon + (", ".join(f"{k} = {v}" for k, v in sets.items())
                                                      if isinstance(sets, dict) else str(sets)))
    if detail.get("record"):
        parts.append(t("case_record_versioned", lang))
    if detail.get("note"):
        parts.append(t("note", lang) + colon + str(detail["note"]))
    return sep.join(parts)


def record_ref(record: str | None, lang: str = "zh") -> str:
    """A record a case or an objection is about, in words: its source's name and its key
    ("行政处罚 宝市监罚〔2025〕12号"); no record (or "rating"): the rating itself."""
    if _missing(record) or not record or record == "rating":
        return t("the_rating", lang)
    source, _, key = str(record).partition(":")
    found = config.sources().sources.get(source)
    if found is None:
        return str(record)
    return f"{found.zh if lang == 'zh' else source.replace('_', ' ')} {key}".strip()


def record_value(column: str, value, lang: str = "zh") -> str:
    """A record's coded value in words (the code itself when it has none)."""
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return ""
    return word(RECORD_VALUES.get(column, {}), value, lang)


# columns of a source that hold violation kinds (supervision.yaml `violations`), `;`-separated
VIOLATION_COLUMNS = {"inspection": ("items", "problems")}


def violation_kinds(codes, lang: str = "zh") -> str:
    """`;`-separated violation kinds (an inspection's items or problems found) in words."""
    if _missing(codes) or not str(codes).strip():
        return ""
    kinds = config.supervision().violations
    words = [getattr(kinds[c], lang if lang == "zh" else "en") if c in kinds else c for c in str(codes).split(";") if c]
    return ("；" if lang == "zh" else "; ").join(words)


def word(table: dict, key, lang: str = "zh") -> str:
    pair = table.get(key)
    return str(key) if pair is None else pair[0 if lang == "zh" else 1]


def county(code, lang: str = "zh") -> str:
    if code is None or (isinstance(code, float) and math.isnan(code)):
        return "—"
    return config.city().county_name(str(code), lang)


def industry(section, lang: str = "zh") -> str:
    if not isinstance(section, str) or section not in SECTIONS:
        return "—"
    zh, en = SECTIONS[section]
    return f"{section} {zh}" if lang == "zh" else f"{section} {en}"


def _missing(x) -> bool:
    return x is None or (isinstance(x, float) and math.isnan(x)) or x is pd.NA or x is pd.NaT


def number(x, lang: str = "zh", digits: int = 0) -> str:
    if _missing(x):
        return "—"
    return f"{float(x):,.{digits}f}"


def pct(x, lang: str = "zh", digits: int = 2) -> str:
    if _missing(x):
        return "—"
    x = float(x)
    if 0 < x < 10 ** -(digits + 2):
        return f"<{10 ** -digits:.{digits}f}%"
    return f"{x:.{digits}%}"


def money(x, lang: str = "zh") -> str:
    """Yuan for people: 1.25万元 / 3.4亿元 in Chinese, ¥12,500 / ¥3.4 bn in English."""
    if _missing(x):
        return "—"
    x = float(x)
    if lang == "zh":
        if abs(x) >= 1e8:
            return f"{x / 1e8:,.2f}亿元"
        if abs(x) >= 1e4:
            return f"{x / 1e4:,.2f}万元"
        return f"{x:,.0f}元"
    if abs(x) >= 1e9:
        return f"¥{x / 1e9:,.2f} bn"
    if abs(x) >= 1e6:
        return f"¥{x / 1e6:,.2f} m"
    return f"¥{x:,.0f}"


def moments(values) -> pd.Series:
    """Times as the desks read them, to the second ("2026-12-07 19:15:29")."""
    return pd.to_datetime(pd.Series(values)).dt.strftime("%Y-%m-%d %H:%M:%S")


def points(x) -> str:
    """Points as people read them: whole points where they are whole, else one decimal; "—" when none."""
    if _missing(x):
        return "—"
    x = float(x)
    return f"{x:.0f}" if x == round(x) else f"{x:.1f}"


def amount(x) -> str:
    """A recorded figure as people write it: thousands separated, cents only where there are
    cents (162,000 and 141,153.47); blank when missing."""
    if _missing(x):
        return ""
    x = float(x)
    return f"{x:,.0f}" if x == round(x) else f"{x:,.2f}"


def date(x, lang: str = "zh") -> str:
    if _missing(x):
        return "—"
    d = pd.Timestamp(x).date() if not isinstance(x, dt.date) else x
    return f"{d.year}年{d.month}月{d.day}日" if lang == "zh" else d.isoformat()
